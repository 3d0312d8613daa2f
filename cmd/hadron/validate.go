package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/hadron-linux/hadron/internal/config"
	"github.com/hadron-linux/hadron/internal/dirfs"
	"github.com/hadron-linux/hadron/internal/errlist"
	"github.com/hadron-linux/hadron/internal/graph"
	"github.com/hadron-linux/hadron/internal/project"
	"github.com/hadron-linux/hadron/internal/recipe"
	"github.com/hadron-linux/hadron/kernel/board"
	"github.com/spf13/cobra"
	"github.com/spf13/viper"
)

func newValidateCmd(v *viper.Viper) *cobra.Command {
	// validate reports hadron.yaml's problems with the tree's instead of
	// stopping at them as other commands do.
	var settings *config.File
	var settingsProblems errlist.List
	return &cobra.Command{
		Use:   "validate",
		Short: "Check every recipe, lock file and image definition of the tree",
		Long: `Validate loads the whole tree (recipes/, toolchain/, kernel/, vendor-hashes/,
images/) strictly and resolves the dependency graph for every architecture and
every image, and checks hadron.yaml (unknown keys, mirrors that are not http or
https, bad paths, substitutes that do not exist). Every problem is printed as
file:line: message; the exit status is 1 when there is any.`,
		Args: cobra.NoArgs,
		PersistentPreRunE: func(cmd *cobra.Command, _ []string) error {
			f, err := loadConfig(v, cmd)
			if err != nil && !errors.As(err, &settingsProblems) {
				return err
			}
			settings = f
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runValidate(cmd.OutOrStdout(), cmd.ErrOrStderr(), v.GetString("dir"), settings, settingsProblems)
		},
	}
}

// validationFailed is returned when the tree has problems; they have
// already been printed, so the message is only a count.
type validationFailed struct{ n int }

func (e validationFailed) Error() string {
	if e.n == 1 {
		return "1 problem"
	}
	return fmt.Sprintf("%d problems", e.n)
}

// ExitCode makes main exit with status 1.
func (e validationFailed) ExitCode() int { return exitFailed }

// runValidate checks the tree at dir and the settings file, printing
// every problem (the file's own, given as settingsProblems, included).
func runValidate(stdout, stderr io.Writer, dir string, settings *config.File, settingsProblems errlist.List) error {
	tree, problems, err := validateTree(dir)
	if err != nil {
		return err
	}
	problems = append(problems, settingsProblems...)
	if settings != nil {
		problems = append(problems, settings.CheckTree(tree.Substitutes)...)
	}
	problems = problems.Sorted()
	for _, p := range problems {
		fmt.Fprintln(stderr, p.Error())
	}
	if len(problems) > 0 {
		return validationFailed{n: len(problems)}
	}
	fmt.Fprintf(stdout, "ok: %d recipes, %d lock files, %d images\n", len(tree.Recipes), len(tree.Locks), len(tree.Images))
	return nil
}

// validateTree loads the tree at dir and resolves its graphs, returning all
// problems sorted. err is set only when the tree cannot be read at all.
func validateTree(dir string) (*project.Tree, errlist.List, error) {
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, nil, fmt.Errorf("validate: %s is not a folder", dir)
	}
	var problems errlist.List
	tree, err := project.Load(dirfs.New(dir))
	if tree == nil {
		return nil, nil, fmt.Errorf("validate: %w", err)
	}
	problems.Append(err)
	loadFailed := err != nil
	boards, err := board.LoadAll(os.DirFS(dir))
	problems.Append(err)
	problems = append(problems, board.CheckImages(boards, tree.Images)...)
	seen := map[string]bool{} // lines from the whole-tree resolves
	// addResolve adds the lines of a resolve error; at, when set, is the
	// position to report them at (an image), with at.Msg as a prefix.
	addResolve := func(at *errlist.Error, err error) {
		for _, line := range strings.Split(err.Error(), "\n") {
			// Dangling dependencies are already reported with their line,
			// and an image repeats the tree's cycles: report those once.
			if (loadFailed && strings.HasPrefix(line, "unknown recipe")) || seen[line] {
				continue
			}
			if at != nil {
				problems.Addf(at.File, at.Line, "%s%s", at.Msg, line)
				continue
			}
			seen[line] = true
			problems.Add(graphProblem(line))
		}
	}
	for _, arch := range recipe.Arches {
		if _, err := graph.Resolve(tree, arch, nil); err != nil {
			addResolve(nil, err)
		}
	}
	for _, name := range sortedImageNames(tree) {
		img := tree.Images[name]
		for _, arch := range recipe.Arches {
			if !img.SupportsArch(arch) {
				continue
			}
			if _, err := graph.Resolve(tree, arch, img.Packages); err != nil {
				addResolve(&errlist.Error{File: img.File, Line: img.Line, Msg: fmt.Sprintf("image %s for %s: ", name, arch)}, err)
			}
		}
	}
	return tree, problems.Sorted(), nil
}

// graphProblem turns one line of a resolve error into a problem, keeping a
// leading file:line as its position.
func graphProblem(line string) *errlist.Error {
	if file, rest, ok := strings.Cut(line, ":"); ok {
		var n int
		if _, err := fmt.Sscanf(rest, "%d:", &n); err == nil && n > 0 {
			_, msg, _ := strings.Cut(rest, ": ")
			return &errlist.Error{File: file, Line: n, Msg: msg}
		}
	}
	return &errlist.Error{Msg: line}
}

func sortedImageNames(t *project.Tree) []string {
	names := make([]string, 0, len(t.Images))
	for n := range t.Images {
		names = append(names, n)
	}
	return sortedStrings(names)
}
