// Package textcheck holds the hand-written checks for the short strings of
// Hadron's formats: names, versions, digests, commits, environment names.
// They run for every recipe and lock file of a tree, so they are plain
// loops over bytes rather than regular expressions.
package textcheck

// LowerHex reports whether s is exactly n lower-case hexadecimal digits
// (a sha256 is 64, a sha512 128, a git commit 40).
func LowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// Word reports whether s is a non-empty string whose first byte is an
// ASCII letter or digit (lower-case letters only when lower is set) and
// whose other bytes are such letters, digits or one of the bytes in more.
// For example Word(s, true, "+._-") is a recipe name.
func Word(s string, lower bool, more string) bool {
	if s == "" || !alnum(s[0], lower) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !alnum(c, lower) && !in(c, more) {
			return false
		}
	}
	return true
}

// VersionID reports whether s can be os-release's VERSION_ID: lower-case
// letters, digits and . _ -, starting with a letter or digit ("1.0",
// "2025.10", "edge"); see os-release(5).
func VersionID(s string) bool { return Word(s, true, "._-") }

// Identifier reports whether s is a C/shell identifier: a letter or _
// followed by letters, digits and _.
func Identifier(s string) bool {
	if s == "" || s[0] >= '0' && s[0] <= '9' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !alnum(c, false) && c != '_' {
			return false
		}
	}
	return true
}

// Charset reports whether s is non-empty and made only of ASCII letters,
// digits and the bytes in more.
func Charset(s, more string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !alnum(c, false) && !in(c, more) {
			return false
		}
	}
	return true
}

func alnum(c byte, lower bool) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || !lower && 'A' <= c && c <= 'Z'
}

func in(c byte, set string) bool {
	for i := 0; i < len(set); i++ {
		if set[i] == c {
			return true
		}
	}
	return false
}
