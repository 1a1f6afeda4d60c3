package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"

	sdk "github.com/pulumi/pulumi/sdk/v3"
	"github.com/pulumi/pulumi/sdk/v3/go/common/apitype"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/logging"
	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// policyModule is pulumi-policy's entry point: it loads the pack directory given as its last
// argument and serves the Analyzer protocol, printing its port first.
const policyModule = "pulumi.policy"

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
	cmd.Stdout, cmd.Stderr = packStdout, stderr

	logging.V(5).Infof("RunPlugin: launching %s %v", cmd.Path, cmd.Args[1:])
	if err := cmd.Start(); err != nil {
		proxy.Abort(err)
		return fmt.Errorf("could not start policy pack %s with %s: %w", packDir, cmd.Path, err)
	}
	if err := proxy.Attach(ctx, cmd); err != nil {
		var exitErr *exec.ExitError
		if errors.As(err, &exitErr) {
			return server.Send(&pulumirpc.RunPluginResponse{
				Output: &pulumirpc.RunPluginResponse_Exitcode{Exitcode: int32(exitErr.ExitCode())},
			})
		}
		// The pack ended before it served. Its traceback was streamed to the engine (as
		// pulumi.policy's error diagnostic, or plain stderr), and the engine's calls to it
		// fail with the proxy's "policy pack not started": the preview fails, never hangs.
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
