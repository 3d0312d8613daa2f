package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	clog "github.com/containerd/log"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"

	"github.com/hadron-linux/hadron/bootchain/pe"
	"github.com/hadron-linux/hadron/internal/ocilayout"
	"github.com/hadron-linux/hadron/internal/repro"
)

func newReproDiffCmd(v *viper.Viper) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "repro-diff A B",
		Short: "Compare two builds' outputs as repro-check does (OCI layouts or archives, trees, files)",
		Long: `Repro-diff compares what two builds produced, the way repro-check compares
its two builds: two OCI layouts (directories holding index.json) or OCI
archives (type=oci tarballs) image by image and layer by layer, two exported
trees file by file, or two single files (disk images, UKIs). It reports
where they differ, down to the files, and exits with status 3 when they
do. Use it for outputs built elsewhere: a nightly build against the last
release, two CI machines, two disk images made from two builds.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			_ = clog.SetLevel("error") // see runReproCheck
			opts := repro.Options{Explain: explainPE}
			if !v.GetBool("no-diffoscope") {
				opts.Diffoscope = repro.FindDiffoscope()
			}
			rep, err := compareOutputs(cmd.Context(), args[0], args[1], opts)
			if err != nil {
				return err
			}
			if err := rep.Write(cmd.OutOrStdout(), v.GetBool("all")); err != nil {
				return err
			}
			if !rep.Reproducible() {
				return &exitError{code: exitNotReproducible, message: fmt.Sprintf("%s and %s differ", args[0], args[1])}
			}
			return nil
		},
	}
	cmd.Flags().Bool("all", false, "list identical artifacts in the report too")
	cmd.Flags().Bool("no-diffoscope", false, "do not run diffoscope on differences even when it is installed")
	return cmd
}

// compareOutputs compares two outputs of the same kind: OCI layouts
// (directories holding index.json), trees (other directories), image
// archives (files containerd's importer reads), or plain files.
func compareOutputs(ctx context.Context, a, b string, opts repro.Options) (*repro.Report, error) {
	sa, err := os.Stat(a)
	if err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	sb, err := os.Stat(b)
	if err != nil {
		return nil, fmt.Errorf("compare: %w", err)
	}
	if sa.IsDir() != sb.IsDir() {
		return nil, fmt.Errorf("compare: %s and %s are not both directories or both files", a, b)
	}
	if !sa.IsDir() {
		return compareFiles(ctx, a, b, opts)
	}
	_, ea := os.Stat(filepath.Join(a, ocilayout.IndexFile))
	_, eb := os.Stat(filepath.Join(b, ocilayout.IndexFile))
	if ea != nil || eb != nil {
		if (ea == nil) != (eb == nil) {
			return nil, fmt.Errorf("compare: only one of %s and %s is an OCI layout", a, b)
		}
		return repro.CompareTrees(ctx, a, b, opts)
	}
	la, err := ocilayout.Open(a)
	if err != nil {
		return nil, err
	}
	lb, err := ocilayout.Open(b)
	if err != nil {
		return nil, err
	}
	return repro.CompareLayouts(ctx, la, lb, opts)
}

// compareFiles compares two image archives layout by layout when both
// are, else as plain files.
func compareFiles(ctx context.Context, a, b string, opts repro.Options) (*repro.Report, error) {
	tmp, err := os.MkdirTemp("", "hadron-repro-diff-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	la, errA := ocilayout.ImportArchive(ctx, a, filepath.Join(tmp, "a"))
	lb, errB := ocilayout.ImportArchive(ctx, b, filepath.Join(tmp, "b"))
	if errA == nil && errB == nil {
		return repro.CompareLayouts(ctx, la, lb, opts)
	}
	return repro.CompareFiles(ctx, a, b, opts)
}

// explainPE says, for two differing PE images (EFI binaries, UKIs),
// whether the signed content differs or only the signature, and which
// sections differ. Other files get no lines.
func explainPE(_ string, a, b string) []string {
	da, err := os.ReadFile(a)
	if err != nil {
		return nil
	}
	db, err := os.ReadFile(b)
	if err != nil {
		return nil
	}
	fa, errA := pe.Parse(da)
	fb, errB := pe.Parse(db)
	if errA != nil || errB != nil {
		return nil
	}
	ha, errA := fa.AuthenticodeDigest(sha256.New())
	hb, errB := fb.AuthenticodeDigest(sha256.New())
	if errA != nil || errB != nil {
		return nil
	}
	if bytes.Equal(ha, hb) {
		return []string{"PE image: same Authenticode hash " + hex.EncodeToString(ha) +
			": the signed content is identical, only the signature (certificate table) differs"}
	}
	out := []string{fmt.Sprintf("PE image: Authenticode hashes differ (%s / %s): the unsigned image differs",
		hex.EncodeToString(ha), hex.EncodeToString(hb))}
	if s := differingSections(fa, fb); len(s) > 0 {
		out = append(out, fmt.Sprintf("PE sections that differ: %v", s))
	}
	return out
}

// differingSections names the sections whose data differs between two
// PE images, or that only one has.
func differingSections(a, b *pe.File) []string {
	data := func(f *pe.File) map[string][]byte {
		m := map[string][]byte{}
		for _, s := range f.Sections {
			m[s.Name] = f.SectionData(s)
		}
		return m
	}
	ma, mb := data(a), data(b)
	var out []string
	for n, d := range ma {
		if e, ok := mb[n]; !ok || !bytes.Equal(d, e) {
			out = append(out, n)
		}
	}
	for n := range mb {
		if _, ok := ma[n]; !ok {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}
