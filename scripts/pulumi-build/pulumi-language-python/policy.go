package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// policyModule is pulumi-policy's entry point: it loads the pack directory given as its last
// argument and serves the Analyzer protocol, printing its port first.
const policyModule = "pulumi.policy"

// startTimeoutEnv names the setting for how long a pack may take to print its port.
const startTimeoutEnv = "CODESIGN_POLICY_PACK_START_TIMEOUT"

// defaultStartTimeout bounds a pack's start when startTimeoutEnv is unset: a pack that never
// serves (it blocks at import) would otherwise hold the preview forever.
const defaultStartTimeout = 60 * time.Second

// startTimeout is startTimeoutEnv's value (seconds, > 0), or defaultStartTimeout.
func startTimeout() (time.Duration, error) {
	value := strings.TrimSpace(os.Getenv(startTimeoutEnv))
	if value == "" {
		return defaultStartTimeout, nil
	}
	seconds, err := strconv.ParseFloat(value, 64)
	if err != nil || seconds <= 0 || seconds > 86400 {
		return 0, fmt.Errorf("%s=%q: expected a number of seconds, more than 0 (default %s)",
			startTimeoutEnv, value, defaultStartTimeout)
	}
	return time.Duration(seconds * float64(time.Second)), nil
}

// RunPlugin runs a Python policy pack (kind analyzer) as Pulumi's own Python host does since
// v3.221. Other plugin kinds (Python resource providers, tools) are not supported.
func (h *pythonHost) RunPlugin(
	req *pulumirpc.RunPluginRequest, server pulumirpc.LanguageRuntime_RunPluginServer,
) error {
	if req.GetKind() != string(apitype.AnalyzerPlugin) {
		return fmt.Errorf("this Python language host runs policy packs only (plugin kind %q), "+
			"not %q plugins such as %s", apitype.AnalyzerPlugin, req.GetKind(), req.GetInfo().GetProgramDirectory())
	}
	ctx := server.Context()
	packDir := req.GetInfo().GetProgramDirectory()
	logging.V(5).Infof("RunPlugin: policy pack in %s with args %v", packDir, req.GetArgs())

	timeout, err := startTimeout()
	if err != nil {
		return fmt.Errorf("policy pack %s: %w", packDir, err)
	}
	tc, err := resolveToolchain(req.GetInfo())
	if err != nil {
		return fmt.Errorf("policy pack %s: %w", packDir, err)
	}
	if err := validateVirtualEnv(ctx, tc, req.GetInfo()); err != nil {
		return fmt.Errorf("policy pack %s: %w", packDir, err)
	}
	args := append([]string{"-u", "-m", policyModule}, req.GetArgs()...)
	cmd, err := tc.Command(ctx, append(args, packDir)...)
	if err != nil {
		return fmt.Errorf("policy pack %s: %w", packDir, err)
	}
	// Policy packs have always run in their own directory (pulumi-policy reads
	// PulumiPolicy.yaml and imports the pack from there).
	cmd.Dir = packDir
	// Whatever ends this RunPlugin (the engine cancelling it, closing the plugin) ends the
	// pack and anything it started, not only the Python process.
	ownGroup(cmd)
	cmd.Cancel = func() error { return killGroup(cmd) }

	closer, stdout, stderr, err := rpcutil.MakeRunPluginStreams(server, false)
	if err != nil {
		return err
	}
	defer closer.Close()

	// The proxy serves the engine's Handshake and ConfigureStack itself, prints its own port
	// (the engine's first stdout line), and forwards every other call to the pack once the
	// pack has printed its port on the writer returned here.
	proxy, packStdout, err := sdk.NewPolicyProxy(ctx, stdout)
	if err != nil {
		return fmt.Errorf("could not start the policy pack proxy: %w", err)
	}
	config, err := proxy.AwaitConfiguration(ctx)
	if err != nil {
		return fmt.Errorf("could not get the stack configuration for policy pack %s: %w", packDir, err)
	}
	env, err := policyEnv(config)
	if err != nil {
		return err
	}
	base := cmd.Env
	if base == nil {
		base = os.Environ()
	}
	cmd.Env = append(append(base, env...), req.GetEnv()...)
	tail := &stderrTail{out: stderr, done: make(chan struct{})}
	watch := &portWatch{
		proxy: proxy, out: packStdout, stderr: tail, packDir: packDir, servedCh: make(chan struct{}),
	}
	cmd.Stdout = watch
	cmd.Stderr = tail

	logging.V(5).Infof("RunPlugin: launching %s %v", cmd.Path, cmd.Args[1:])
	if err := cmd.Start(); err != nil {
		proxy.Abort(err)
		return fmt.Errorf("could not start policy pack %s with %s: %w", packDir, cmd.Path, err)
	}
	h.track(cmd)
	defer h.untrack(cmd)
	go watch.bound(ctx, cmd, timeout)
	if err := proxy.Attach(ctx, cmd); err != nil {
		if failed := watch.timedOut(); failed != nil {
			return failed
		}
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return server.Send(&pulumirpc.RunPluginResponse{
				Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(exitErr.ExitCode())},
			})
		}
		// The pack ended before it served: portWatch has failed the engine's calls to it
		// with the pack's own error, so the preview fails, never hangs.
		return fmt.Errorf("policy pack %s failed to start: %w", packDir, err)
	}
	return closer.Close()
}

// policyEnv is the environment pulumi-policy reads the stack's settings from.
func policyEnv(config *pulumirpc.AnalyzerStackConfigureRequest) ([]string, error) {
	if config == nil {
		// The engine called something else first (`pulumi policy publish`): no stack.
		return nil, nil
	}
	var env []string
	add := func(key, value string) {
		if value != "" {
			env = append(env, key+"="+value)
		}
	}
	add("PULUMI_ORGANIZATION", config.GetOrganization())
	add("PULUMI_PROJECT", config.GetProject())
	add("PULUMI_STACK", config.GetStack())
	add("PULUMI_DRY_RUN", strconv.FormatBool(config.GetDryRun()))
	values := config.GetConfig()
	if values == nil {
		values = map[string]string{}
	}
	configJSON, err := json.Marshal(values)
	if err != nil {
		return nil, fmt.Errorf("serializing the stack's configuration for the policy pack: %w", err)
	}
	add("PULUMI_CONFIG", string(configJSON))
	secretKeys := config.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, fmt.Errorf("serializing the stack's secret configuration keys: %w", err)
	}
	add("PULUMI_CONFIG_SECRET_KEYS", string(secretJSON))
	return env, nil
}

// stderrTailBytes is how much of a pack's last stderr output its start-up error repeats.
const stderrTailBytes = 4096

// stderrTailLines is how many of those last lines the error shows (the exception, and for
// a syntax error the line and its caret).
const stderrTailLines = 3

// portWatch carries a pack's stdout to the proxy. When that stdout ends before the pack
// printed its port (it exited while starting: a missing module, a syntax error), it fails
// the proxy's pending calls with the pack's last stderr lines, so the engine's error says
// why rather than only "could not read policy pack port".
//
// exec's copying goroutine calls ReadFrom (io.Copy prefers it), and cmd.Wait waits for
// that goroutine: the rejection therefore happens before the proxy, which waits on the
// command, sees the end of the output and rejects with its own generic error.
type portWatch struct {
	proxy    *sdk.PolicyProxy
	out      io.Writer
	stderr   *stderrTail
	packDir  string
	served   bool
	servedCh chan struct{} // closed once the port is printed

	mu      sync.Mutex
	timeout error // set when bound gave up on the pack
}

func (w *portWatch) Write(p []byte) (int, error) {
	if !w.served && bytes.IndexByte(p, '\n') >= 0 {
		w.served = true // the first line is the port
		close(w.servedCh)
	}
	return w.out.Write(p)
}

// bound kills cmd's process group, and fails the engine's calls to the pack with a message
// naming it and the timeout, when the pack has not printed its port within timeout.
func (w *portWatch) bound(ctx context.Context, cmd *exec.Cmd, timeout time.Duration) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-w.servedCh:
		return
	case <-ctx.Done():
		return // cmd.Cancel kills the pack
	case <-timer.C:
	}
	err := fmt.Errorf("the Python policy pack in %s did not start serving within %s (%s); "+
		"it was stopped. A pack must not block at import; set %s (seconds) for a slower start%s",
		w.packDir, timeout, startTimeoutEnv, startTimeoutEnv, w.stderr.describe())
	w.mu.Lock()
	w.timeout = err
	w.mu.Unlock()
	// Rejected before the kill, so the engine hears this rather than "exited before it served".
	w.proxy.Abort(err)
	if kerr := killGroup(cmd); kerr != nil {
		logging.V(5).Infof("RunPlugin: killing policy pack %s: %v", w.packDir, kerr)
	}
}

// timedOut is bound's error, or nil when bound did not give up on the pack.
func (w *portWatch) timedOut() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.timeout
}

func (w *portWatch) ReadFrom(r io.Reader) (int64, error) {
	buf := make([]byte, 32*1024)
	var total int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if err != nil {
			if !w.served {
				// Both streams end when the pack exits; give stderr a moment to drain.
				w.stderr.wait(2 * time.Second)
				w.proxy.Abort(fmt.Errorf("the Python policy pack in %s exited before it served%s",
					w.packDir, w.stderr.describe()))
			}
			if errors.Is(err, io.EOF) {
				return total, nil
			}
			return total, err
		}
	}
}

// stderrTail streams a pack's stderr to the engine and keeps its end.
type stderrTail struct {
	out  io.Writer
	mu   sync.Mutex
	last []byte
	done chan struct{}
	once sync.Once
}

func (t *stderrTail) Write(p []byte) (int, error) {
	t.mu.Lock()
	t.last = append(t.last, p...)
	if len(t.last) > stderrTailBytes {
		t.last = t.last[len(t.last)-stderrTailBytes:]
	}
	t.mu.Unlock()
	return t.out.Write(p)
}

func (t *stderrTail) ReadFrom(r io.Reader) (int64, error) {
	defer t.once.Do(func() { close(t.done) })
	buf := make([]byte, 32*1024)
	var total int64
	for {
		n, err := r.Read(buf)
		if n > 0 {
			if _, werr := t.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return total, nil
			}
			return total, err
		}
	}
}

// wait returns once the stream has ended, or after d.
func (t *stderrTail) wait(d time.Duration) {
	select {
	case <-t.done:
	case <-time.After(d):
	}
}

// describe is ": " and the last lines written, or "" when there were none.
func (t *stderrTail) describe() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var lines []string
	for _, line := range strings.Split(string(t.last), "\n") {
		if strings.TrimSpace(line) != "" {
			lines = append(lines, strings.TrimRight(line, "\r"))
		}
	}
	if len(lines) == 0 {
		return ""
	}
	if len(lines) > stderrTailLines {
		lines = lines[len(lines)-stderrTailLines:]
	}
	return ": " + strings.Join(lines, "\n")
}
