package bump

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Status is the outcome for one recipe.
type Status string

// The outcomes of one recipe.
const (
	// StatusUpdated: the recipe's version and lock file were rewritten.
	StatusUpdated Status = "updated"
	// StatusAvailable: a dry run found a newer allowed version.
	StatusAvailable Status = "available"
	// StatusCurrent: the recipe already has the newest allowed version.
	StatusCurrent Status = "up-to-date"
	// StatusFailed: listing, downloading, verifying or writing failed.
	StatusFailed Status = "failed"
)

// Result is the outcome for one recipe.
type Result struct {
	// Recipe is the recipe's name.
	Recipe string `json:"recipe"`
	// Upstream describes where versions were listed ("github-releases
	// tukaani-project/xz").
	Upstream string `json:"upstream"`
	// Constraint is the recipe's upstream.constraint, if any.
	Constraint string `json:"constraint,omitempty"`
	// Current is the version before the run.
	Current string `json:"current"`
	// Latest is the newest version the constraint allows.
	Latest string `json:"latest,omitempty"`
	// HeldBack is a newer upstream release the constraint refuses.
	HeldBack string `json:"held_back,omitempty"`
	// Status is the outcome.
	Status Status `json:"status"`
	// Error says what failed (StatusFailed only).
	Error string `json:"error,omitempty"`
	// Verified is set when the current version's sources were downloaded
	// again and matched their pins.
	Verified bool `json:"verified,omitempty"`
	// Sources are the new pins (StatusUpdated only).
	Sources []Pin `json:"sources,omitempty"`
}

// Pin is one new source pin in a report.
type Pin struct {
	URL    string `json:"url,omitempty"`
	Git    string `json:"git,omitempty"`
	Commit string `json:"commit,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	Size   int64  `json:"size,omitempty"`
}

// Affected lists what must rebuild because of the changed recipes.
type Affected struct {
	Recipes []string `json:"recipes"` // the changed recipes and those built against them
	Images  []string `json:"images"`  // images whose runtime closure holds any of Recipes
}

// Report is the outcome of one bump run.
type Report struct {
	// DryRun is set when nothing was written.
	DryRun bool `json:"dry_run"`
	// Results holds one entry per recipe checked, sorted.
	Results []Result `json:"results"`
	// Affected is set with --affected.
	Affected *Affected `json:"affected,omitempty"`
	// Errors are problems of the run itself, not of one recipe.
	Errors []string `json:"errors,omitempty"`
}

// sortResults orders results by recipe name.
func (r *Report) sortResults() {
	sort.Slice(r.Results, func(i, j int) bool { return r.Results[i].Recipe < r.Results[j].Recipe })
}

// with returns the names of the recipes whose status is one of ss.
func (r *Report) with(ss ...Status) []string {
	var out []string
	for _, res := range r.Results {
		for _, s := range ss {
			if res.Status == s {
				out = append(out, res.Recipe)
			}
		}
	}
	return out
}

// Failed returns the names of the failed recipes.
func (r *Report) Failed() []string { return r.with(StatusFailed) }

// Changed returns the recipes that were updated, or in a dry run would be.
func (r *Report) Changed() []string { return r.with(StatusUpdated, StatusAvailable) }

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write JSON report: %w", err)
	}
	return nil
}

// WriteMarkdown writes the report as GitHub-flavoured markdown, the body
// of the nightly pull request.
func (r *Report) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	title := "Upstream version bumps"
	if r.DryRun {
		title += " (dry run)"
	}
	fmt.Fprintf(&b, "## %s\n\n", title)
	updated := r.with(StatusUpdated, StatusAvailable)
	fmt.Fprintf(&b, "%d %s · %d up to date · %d failed\n", len(updated), map[bool]string{true: "available", false: "updated"}[r.DryRun],
		len(r.with(StatusCurrent)), len(r.Failed()))

	if len(r.Errors) > 0 {
		b.WriteString("\n### Errors\n\n")
		for _, e := range r.Errors {
			fmt.Fprintf(&b, "- %s\n", cell(e))
		}
	}
	if rows := r.filter(StatusFailed); len(rows) > 0 {
		b.WriteString("\n### Failed\n\n| Recipe | Current | Upstream | Problem |\n| --- | --- | --- | --- |\n")
		for _, res := range rows {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", res.Recipe, cell(res.Current), cell(res.Upstream), cell(res.Error))
		}
	}
	if rows := r.filter(StatusUpdated, StatusAvailable); len(rows) > 0 {
		head := "Updated"
		if r.DryRun {
			head = "Available"
		}
		fmt.Fprintf(&b, "\n### %s\n\n| Recipe | From | To | Upstream | Constraint |\n| --- | --- | --- | --- | --- |\n", head)
		for _, res := range rows {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", res.Recipe, cell(res.Current), cell(res.Latest), cell(res.Upstream), code(res.Constraint))
		}
	}
	var held []Result
	for _, res := range r.Results {
		if res.HeldBack != "" {
			held = append(held, res)
		}
	}
	if len(held) > 0 {
		b.WriteString("\n### Held back by constraints\n\n| Recipe | Allowed | Newest upstream | Constraint |\n| --- | --- | --- | --- |\n")
		for _, res := range held {
			fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", res.Recipe, cell(res.Latest), cell(res.HeldBack), code(res.Constraint))
		}
	}
	if rows := r.filter(StatusCurrent); len(rows) > 0 {
		fmt.Fprintf(&b, "\n<details><summary>%d up to date</summary>\n\n", len(rows))
		for _, res := range rows {
			verified := ""
			if res.Verified {
				verified = " (pins verified)"
			}
			fmt.Fprintf(&b, "- %s %s%s\n", res.Recipe, cell(res.Current), verified)
		}
		b.WriteString("\n</details>\n")
	}
	if a := r.Affected; a != nil {
		b.WriteString("\n### Must rebuild\n\n")
		fmt.Fprintf(&b, "- recipes: %s\n- images: %s\n", list(a.Recipes), list(a.Images))
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write markdown report: %w", err)
	}
	return nil
}

func (r *Report) filter(ss ...Status) []Result {
	var out []Result
	for _, res := range r.Results {
		for _, s := range ss {
			if res.Status == s {
				out = append(out, res)
			}
		}
	}
	return out
}

// cell makes s safe inside a markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(s, "\r", "")
	s = strings.ReplaceAll(s, "\n", " ")
	s = strings.ReplaceAll(s, "|", `\|`)
	if s == "" {
		return "—"
	}
	return s
}

func code(s string) string {
	if s == "" {
		return "—"
	}
	return "`" + strings.ReplaceAll(s, "|", `\|`) + "`"
}

func list(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}
