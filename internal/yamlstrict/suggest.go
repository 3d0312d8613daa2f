package yamlstrict

import "strings"

// Suggest returns the candidate closest to word by edit distance (with
// transpositions counted as one edit), or "" when none is close enough to be
// a plausible typo. Ties go to the earlier candidate.
func Suggest(word string, candidates []string) string {
	if word == "" {
		return ""
	}
	lw := strings.ToLower(word)
	limit := 1
	if len(word) >= 4 {
		limit = 2
	}
	best, bestD := "", limit+1
	for _, c := range candidates {
		if c == word {
			continue
		}
		d := distance(lw, strings.ToLower(c))
		if d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// DidYouMean returns "; did you mean `c`?" where c is Suggest's pick for
// word among candidates, or otherwise when none is close. It ends messages
// such as "unknown key `nmae`".
func DidYouMean(word string, candidates []string, otherwise string) string {
	if s := Suggest(word, candidates); s != "" {
		return "; did you mean `" + s + "`?"
	}
	return otherwise
}

// distance is the optimal string alignment distance between a and b.
func distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}
