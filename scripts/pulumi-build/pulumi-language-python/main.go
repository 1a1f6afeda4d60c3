// Command pulumi-language-python is a small Python language host for the Pulumi engine.
//
// Pulumi's own host (module github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3)
// has no release tags and the Go module proxy this project builds from does not serve it, so
// scripts/install-pulumi.sh builds this one instead, against the same pinned sdk/v3 release
// as the CLI. It does what the engine needs from a language host to run a Python program:
//
//   - Run: start Pulumi's own `pulumi-language-python-exec` (shipped in sdk/v3 and installed
//     beside this binary) with the Python that the project's runtime options select — the
//     `virtualenv` and `toolchain` options, resolved by sdk/v3's python/toolchain package
//     exactly as Pulumi's host resolves them, else $PULUMI_PYTHON_CMD, else python3 on PATH;
//     pass the stack's configuration in PULUMI_CONFIG / PULUMI_CONFIG_SECRET_KEYS; report
//     exit code 32 ("error already shown to the user") as a bail and any other failure as an
//     error;
//   - RunPlugin for policy packs (kind analyzer: `pulumi preview --policy-pack DIR` with a
//     PulumiPolicy.yaml of `runtime: python`), as Pulumi's own host runs them since v3.221:
//     sdk/v3's PolicyProxy answers the engine's Handshake and ConfigureStack, the pack is
//     started as `python -u -m pulumi.policy ARGS... PACK_DIR` in the pack's directory with
//     PULUMI_CONFIG, PULUMI_PROJECT, PULUMI_STACK, PULUMI_DRY_RUN and PULUMI_ORGANIZATION
//     set from that configuration, its stdout (after the port) and stderr are streamed to
//     the engine, and its exit code is reported. A pack that exits before serving (a
//     missing dependency, a syntax error) fails the engine's calls to it with its last
//     lines of stderr, so the preview fails with that error instead of hanging (policy.go);
//   - GetPluginInfo, Handshake, Cancel, About and GetProgramDependencies.
//
// It reports no required plugins (a program that uses provider packages such as pulumi_aws
// must have their plugins installed beforehand), and does not implement `pulumi install`,
// `pulumi new`, code generation, or Python plugins other than policy packs. This project's
// programs use dynamic providers only, which the engine runs through
// `pulumi-resource-pulumi-python`.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/cmdutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	"github.com/pulumi/pulumi/sdk/v3/go/common/version"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"github.com/pulumi/pulumi/sdk/v3/python/toolchain"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/emptypb"
)

// execScriptName is Pulumi's Python shim that connects a program to the engine and runs it.
const execScriptName = "pulumi-language-python-exec"

// userActionableExitCode is the exit code with which pulumi-language-python-exec says that it
// has already shown the user an error, so the engine should not add another.
const userActionableExitCode = 32

func main() {
	tracing := flag.String("tracing", "", "Emit tracing to a Zipkin-compatible tracing endpoint")
	flag.String("root", "", "Project root directory (accepted for compatibility; unused)")
	// The engine may pass --logtostderr and -v=N; a linked package (glog) usually defines
	// them already, and logging.InitLogging reads them from the command line.
	if flag.Lookup("logtostderr") == nil {
		flag.Bool("logtostderr", false, "Log to stderr instead of to files")
	}
	if flag.Lookup("v") == nil {
		flag.Int("v", 0, "Enable verbose logging at the given level")
	}
	flag.Parse()

	logging.InitLogging(false, 0, false)

	execScript, err := findExecScript()
	if err != nil {
		cmdutil.Exit(err)
	}
	host := &pythonHost{execScript: execScript, tracing: *tracing, engineAddress: flag.Arg(0)}

	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
		Options: rpcutil.OpenTracingServerInterceptorOptions(nil),
	})
	if err != nil {
		cmdutil.Exit(fmt.Errorf("could not start the language host's RPC server: %w", err))
	}
	// Told to stop (the engine's plugin close, a user's Ctrl-C or kill): end the policy packs
	// too, which would otherwise outlive this host.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		sig := <-stop
		host.killPacks()
		os.Exit(128 + int(sig.(syscall.Signal))) // as a shell reports a death by that signal
	}()
	go exitWithEngine(host)
	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		cmdutil.Exit(fmt.Errorf("language host RPC server stopped: %w", err))
	}
}

// exitWithEngine ends the policy packs and this host once the engine that started it has
// died without closing it (SIGKILLed, say): this host is then reparented, and would
// otherwise serve, and keep its packs, forever.
func exitWithEngine(host *pythonHost) {
	engine := os.Getppid()
	for range time.Tick(time.Second) {
		if os.Getppid() != engine {
			host.killPacks()
			os.Exit(1)
		}
	}
}

// findExecScript locates pulumi-language-python-exec: beside this binary, else on PATH.
func findExecScript() (string, error) {
	if self, err := os.Executable(); err == nil {
		if resolved, err := filepath.EvalSymlinks(self); err == nil {
			self = resolved
		}
		candidate := filepath.Join(filepath.Dir(self), execScriptName)
		if info, err := os.Stat(candidate); err == nil && !info.IsDir() {
			return candidate, nil
		}
	}
	found, err := exec.LookPath(execScriptName)
	if err != nil {
		return "", fmt.Errorf("could not find %s beside the language host or on PATH: %w", execScriptName, err)
	}
	return found, nil
}

// pythonHost implements pulumirpc.LanguageRuntimeServer for Python programs.
type pythonHost struct {
	pulumirpc.UnimplementedLanguageRuntimeServer

	execScript string
	tracing    string

	mu            sync.Mutex
	engineAddress string
	packs         map[*exec.Cmd]struct{} // running policy packs, killed by Cancel and at exit
}

// track records a started policy pack; untrack forgets it once it has ended.
func (h *pythonHost) track(cmd *exec.Cmd) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.packs == nil {
		h.packs = map[*exec.Cmd]struct{}{}
	}
	h.packs[cmd] = struct{}{}
}

func (h *pythonHost) untrack(cmd *exec.Cmd) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.packs, cmd)
}

// killPacks kills every running policy pack's process group.
func (h *pythonHost) killPacks() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for cmd := range h.packs {
		if err := killGroup(cmd); err != nil {
			logging.V(5).Infof("killing policy pack %s: %v", cmd.Dir, err)
		}
	}
}

func (h *pythonHost) engine() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.engineAddress
}

// Handshake records the engine's address (when given) and accepts the engine's protocol.
func (h *pythonHost) Handshake(
	_ context.Context, req *pulumirpc.LanguageHandshakeRequest,
) (*pulumirpc.LanguageHandshakeResponse, error) {
	if req.GetEngineAddress() != "" {
		h.mu.Lock()
		h.engineAddress = req.GetEngineAddress()
		h.mu.Unlock()
	}
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

// GetPluginInfo reports the Pulumi release this host was built with.
func (h *pythonHost) GetPluginInfo(context.Context, *emptypb.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version.Version}, nil
}

// GetRequiredPlugins reports none: see the package comment.
func (h *pythonHost) GetRequiredPlugins(
	context.Context, *pulumirpc.GetRequiredPluginsRequest,
) (*pulumirpc.GetRequiredPluginsResponse, error) {
	return &pulumirpc.GetRequiredPluginsResponse{}, nil
}

// GetRequiredPackages reports none: see the package comment.
func (h *pythonHost) GetRequiredPackages(
	context.Context, *pulumirpc.GetRequiredPackagesRequest,
) (*pulumirpc.GetRequiredPackagesResponse, error) {
	return &pulumirpc.GetRequiredPackagesResponse{}, nil
}

// Cancel ends running policy packs; a running program is ended by the engine closing its
// monitor.
func (h *pythonHost) Cancel(context.Context, *emptypb.Empty) (*emptypb.Empty, error) {
	h.killPacks()
	return &emptypb.Empty{}, nil
}

// About reports the Python executable and version the program would run with.
func (h *pythonHost) About(ctx context.Context, req *pulumirpc.AboutRequest) (*pulumirpc.AboutResponse, error) {
	tc, err := resolveToolchain(req.GetInfo())
	if err != nil {
		return nil, err
	}
	info, err := tc.About(ctx)
	if err != nil {
		return nil, err
	}
	return &pulumirpc.AboutResponse{
		Executable: info.PythonExecutable,
		Version:    info.PythonVersion.String(),
	}, nil
}

// GetProgramDependencies lists the Python packages installed for the program.
func (h *pythonHost) GetProgramDependencies(
	ctx context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	tc, err := resolveToolchain(req.GetInfo())
	if err != nil {
		return nil, err
	}
	packages, err := tc.ListPackages(ctx, req.GetTransitiveDependencies())
	if err != nil {
		return nil, err
	}
	result := make([]*pulumirpc.DependencyInfo, 0, len(packages))
	for _, p := range packages {
		result = append(result, &pulumirpc.DependencyInfo{Name: p.Name, Version: p.Version})
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: result}, nil
}

// Run executes the program through pulumi-language-python-exec and reports how it ended.
func (h *pythonHost) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	tc, err := resolveToolchain(req.GetInfo())
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	if venvErr := validateVirtualEnv(ctx, tc, req.GetInfo()); venvErr != nil {
		return &pulumirpc.RunResponse{Error: venvErr.Error()}, nil
	}

	config := req.GetConfig()
	if config == nil {
		config = map[string]string{} // a stack with no config: "{}", never "null"
	}
	configJSON, err := json.Marshal(config)
	if err != nil {
		return nil, fmt.Errorf("serializing the stack's configuration: %w", err)
	}
	secretKeys := req.GetConfigSecretKeys()
	if secretKeys == nil {
		secretKeys = []string{}
	}
	secretKeysJSON, err := json.Marshal(secretKeys)
	if err != nil {
		return nil, fmt.Errorf("serializing the stack's secret configuration keys: %w", err)
	}

	cmd, err := tc.Command(ctx, append([]string{"-u", h.execScript}, h.execArgs(req)...)...)
	if err != nil {
		return &pulumirpc.RunResponse{Error: err.Error()}, nil
	}
	env := cmd.Env
	if env == nil {
		env = os.Environ()
	}
	cmd.Env = append(env,
		"PULUMI_CONFIG="+string(configJSON),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretKeysJSON),
	)
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	logging.V(5).Infof("language host launching %s %v", cmd.Path, cmd.Args[1:])

	if err := cmd.Run(); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			if exitErr.ExitCode() == userActionableExitCode {
				return &pulumirpc.RunResponse{Bail: true}, nil
			}
			return &pulumirpc.RunResponse{
				Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode()),
			}, nil
		}
		return &pulumirpc.RunResponse{
			Error: fmt.Sprintf("Problem executing program (could not run language executor): %v", err),
		}, nil
	}
	return &pulumirpc.RunResponse{}, nil
}

// execArgs builds pulumi-language-python-exec's command line from a RunRequest.
func (h *pythonHost) execArgs(req *pulumirpc.RunRequest) []string {
	var args []string
	add := func(name, value string) {
		if value != "" {
			args = append(args, "--"+name, value)
		}
	}
	add("monitor", req.GetMonitorAddress())
	add("engine", h.engine())
	add("project", req.GetProject())
	add("stack", req.GetStack())
	add("pwd", req.GetPwd())
	add("dry_run", strconv.FormatBool(req.GetDryRun()))
	add("parallel", strconv.Itoa(int(req.GetParallel())))
	add("tracing", h.tracing)
	add("organization", req.GetOrganization())
	add("root_directory", req.GetInfo().GetRootDirectory())

	program := req.GetInfo().GetEntryPoint()
	if program == "" {
		program = req.GetProgram() //nolint:staticcheck // older engines send only this
	}
	if program == "" {
		program = "."
	}
	args = append(args, program)
	return append(args, req.GetArgs()...)
}

// runtimeOptions are the `runtime.options` of Pulumi.yaml that choose the Python to run.
type runtimeOptions struct {
	virtualenv string
	toolchain  string
}

func parseOptions(info *pulumirpc.ProgramInfo) (runtimeOptions, error) {
	var opts runtimeOptions
	raw := info.GetOptions().AsMap()
	for key, target := range map[string]*string{"virtualenv": &opts.virtualenv, "toolchain": &opts.toolchain} {
		value, ok := raw[key]
		if !ok {
			continue
		}
		text, isString := value.(string)
		if !isString {
			return opts, fmt.Errorf("runtime option %q in Pulumi.yaml must be a string, got %T", key, value)
		}
		*target = text
	}
	return opts, nil
}

// resolveToolchain picks pip (optionally in a virtualenv), poetry or uv as Pulumi's host does.
func resolveToolchain(info *pulumirpc.ProgramInfo) (toolchain.Toolchain, error) {
	opts, err := parseOptions(info)
	if err != nil {
		return nil, err
	}
	python := toolchain.PythonOptions{
		Root:       info.GetRootDirectory(),
		ProgramDir: info.GetProgramDirectory(),
		Virtualenv: opts.virtualenv,
	}
	switch opts.toolchain {
	case "", "pip":
		python.Toolchain = toolchain.Pip
		if opts.toolchain == "" {
			python.Toolchain = toolchain.Auto
		}
	case "poetry":
		python.Toolchain = toolchain.Poetry
	case "uv":
		python.Toolchain = toolchain.Uv
	default:
		return nil, fmt.Errorf("unsupported runtime option toolchain %q in Pulumi.yaml (use pip, poetry or uv)",
			opts.toolchain)
	}
	return toolchain.ResolveToolchain(python)
}

// validateVirtualEnv explains a missing or broken virtualenv named in Pulumi.yaml.
func validateVirtualEnv(ctx context.Context, tc toolchain.Toolchain, info *pulumirpc.ProgramInfo) error {
	opts, err := parseOptions(info)
	if err != nil {
		return err
	}
	if opts.virtualenv == "" && opts.toolchain == "" {
		return nil
	}
	return tc.ValidateVenv(ctx)
}
