package frontend

import (
	"context"
	"fmt"

	"github.com/hadron-linux/hadron/buildkit-frontends/convert"
	"github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/hadron-linux/hadron/kernel/kconfig"
	"github.com/moby/buildkit/client/llb"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
)

// checkKernelConfigs configures every kernel board the conversion uses
// (base config, fragments, olddefconfig: seconds, no compile) and fails
// when a symbol a fragment asked for did not get that value, listing each
// with its fragment's file:line. Nothing is compiled from a configuration
// that does not say what its fragments say.
func checkKernelConfigs(ctx context.Context, c gwclient.Client, conv *convert.Converter, p ocispecs.Platform, imports []gwclient.CacheOptionsEntry) error {
	for _, kc := range conv.KernelConfigs() {
		if err := checkKernelConfig(ctx, c, conv, kc, p, imports); err != nil {
			return err
		}
	}
	return nil
}

func checkKernelConfig(ctx context.Context, c gwclient.Client, conv *convert.Converter, kc convert.KernelConfig, p ocispecs.Platform, imports []gwclient.CacheOptionsEntry) error {
	name := target.Target{Kind: target.Kernel, Name: kc.Recipe, Board: kc.Board.Name}.String()
	def, err := kc.State.Marshal(ctx, llb.Platform(p))
	if err != nil {
		return fmt.Errorf("marshal LLB for %s config: %w", name, err)
	}
	r, err := c.Solve(ctx, gwclient.SolveRequest{Definition: def.ToPB(), CacheImports: imports})
	if err != nil {
		return ExplainSolveError(fmt.Errorf("configure %s: %w", name, err), conv.Sources())
	}
	ref, err := r.SingleRef()
	if err != nil {
		return err
	}
	read := func(f string) ([]byte, error) {
		b, err := ref.ReadFile(ctx, gwclient.ReadRequest{Filename: f})
		if err != nil {
			return nil, fmt.Errorf("configure %s: read %s: %w", name, f, err)
		}
		return b, nil
	}
	cfgData, err := read(convert.ConfigFile)
	if err != nil {
		return err
	}
	symData, err := read(convert.SymbolsFile)
	if err != nil {
		return err
	}
	final, err := kconfig.ParseConfig(cfgData)
	if err != nil {
		return fmt.Errorf("configure %s: %w", name, err)
	}
	return kconfig.CheckError(kc.Board.Name, kconfig.Check(final, kc.Merged, kconfig.ParseSymbols(symData)))
}
