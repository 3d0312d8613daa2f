package main

import (
	"fmt"
	"io"
	"os"

	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/toolchain/elfcheck"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"
)

func newELFCheckCmd(v *viper.Viper) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "elf-check DIR",
		Short: "Check the ELF files of a package or image root (the ELF hygiene gate)",
		Long: `Elf-check inspects every ELF executable and shared object under DIR, the
root of a built image or the merged runtime closure of a package, and reports
what would break on a musl system:

  machine               not 64-bit, or built for another architecture
  interpreter           a dynamic executable whose loader is not musl's
  needed                a DT_NEEDED library that DIR does not provide
  glibc-symbol-version  a GLIBC_* symbol version, required or defined
  build-path-rpath      an RPATH/RUNPATH entry under /build, /sysroot, /tmp,
                        /hadron, /out, /src or /work
  malformed             a file with the ELF magic that cannot be parsed

Symbolic links are followed inside DIR, never out of it. Each violation is
printed on its own line; the exit status is 1 when there is any.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts := elfcheck.Options{Arch: recipe.Arch(v.GetString("arch")), Package: v.GetString("package")}
			return runELFCheck(cmd.OutOrStdout(), args[0], opts)
		},
	}
	f := cmd.Flags()
	f.String("arch", string(recipe.ArchAMD64), "architecture the files must be built for (amd64, arm64)")
	f.String("package", "", "package name to start each violation with")
	return cmd
}

// elfCheckFailed is returned when the tree has violations; they have
// already been printed, so the message is only a count.
type elfCheckFailed struct{ n int }

func (e elfCheckFailed) Error() string {
	if e.n == 1 {
		return "1 ELF violation"
	}
	return fmt.Sprintf("%d ELF violations", e.n)
}

// ExitCode makes main exit with status 1.
func (e elfCheckFailed) ExitCode() int { return exitFailed }

func runELFCheck(stdout io.Writer, dir string, opts elfcheck.Options) error {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return fmt.Errorf("elf-check: %s is not a folder", dir)
	}
	rep, err := elfcheck.Check(os.DirFS(dir), opts)
	if err != nil {
		return err // already says "elfcheck: …"
	}
	for _, v := range rep.Violations {
		fmt.Fprintln(stdout, v)
	}
	if len(rep.Violations) > 0 {
		return elfCheckFailed{n: len(rep.Violations)}
	}
	fmt.Fprintf(stdout, "ok: %d ELF files checked in %s\n", rep.Checked, dir)
	return nil
}
