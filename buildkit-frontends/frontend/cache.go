package frontend

import (
	"encoding/json"
	"fmt"
	"strings"

	gwclient "github.com/moby/buildkit/frontend/gateway/client"
)

// Frontend attributes BuildKit sets for a gateway frontend when the client
// asks to import caches (buildctl --import-cache, docker buildx --cache-from,
// hadron build --cache-from). BuildKit imports nothing by itself for a
// gateway build: the frontend has to pass the entries on with every solve
// request it makes.
const (
	// optCacheImports is a JSON list of {"Type": …, "Attrs": {…}}.
	optCacheImports = "cache-imports"
	// optCacheFrom is the older form: comma-separated registry refs.
	optCacheFrom = "cache-from"
)

// cacheImportEntry is one element of the optCacheImports JSON (BuildKit's
// control API CacheOptionsEntry as the client marshals it).
type cacheImportEntry struct {
	Type  string            `json:"Type"`
	Attrs map[string]string `json:"Attrs"`
}

// CacheImports returns the caches the client asked this build to import,
// read from the frontend attributes opts, in the order given.
func CacheImports(opts map[string]string) ([]gwclient.CacheOptionsEntry, error) {
	var out []gwclient.CacheOptionsEntry
	if s := opts[optCacheImports]; s != "" {
		var entries []cacheImportEntry
		if err := json.Unmarshal([]byte(s), &entries); err != nil {
			return nil, fmt.Errorf("frontend option %s: %w", optCacheImports, err)
		}
		for _, e := range entries {
			if e.Type == "" {
				return nil, fmt.Errorf("frontend option %s: an entry without a type: %s", optCacheImports, s)
			}
			out = append(out, gwclient.CacheOptionsEntry{Type: e.Type, Attrs: e.Attrs})
		}
	}
	if s := opts[optCacheFrom]; s != "" {
		for ref := range strings.SplitSeq(s, ",") {
			if ref = strings.TrimSpace(ref); ref != "" {
				out = append(out, gwclient.CacheOptionsEntry{Type: "registry", Attrs: map[string]string{"ref": ref}})
			}
		}
	}
	return out, nil
}
