// Package mirror rewrites upstream source URLs to mirror URLs. The pinned
// checksum stays the same whichever copy is fetched, so a mirror can never
// change what is built. Shared by the LLB converter and the downloader.
package mirror

import "strings"

// Map maps an upstream URL prefix to a replacement prefix.
type Map map[string]string

// Rewrite returns url with its longest matching prefix replaced, or url
// itself when no prefix matches. Prefixes match regardless of case, because
// configuration loaders (viper) lower-case map keys.
func (m Map) Rewrite(url string) string {
	best := ""
	for prefix := range m {
		if len(url) >= len(prefix) && strings.EqualFold(url[:len(prefix)], prefix) && len(prefix) > len(best) {
			best = prefix
		}
	}
	if best == "" {
		return url
	}
	return m[best] + url[len(best):]
}
