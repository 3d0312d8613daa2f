package frontend

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/hadron-linux/hadron/buildkit-frontends/target"
	"github.com/moby/buildkit/exporter/containerimage/exptypes"
	commonexptypes "github.com/moby/buildkit/exporter/exptypes"
	gwclient "github.com/moby/buildkit/frontend/gateway/client"
	ocispecs "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// solveClient is a gateway client that answers every solve with an empty
// reference; the rest of gwclient.Client is not implemented.
type solveClient struct {
	gwclient.Client
	solves int
}

func (c *solveClient) BuildOpts() gwclient.BuildOpts { return gwclient.BuildOpts{} }

func (c *solveClient) Solve(context.Context, gwclient.SolveRequest) (*gwclient.Result, error) {
	c.solves++
	res := gwclient.NewResult()
	res.SetRef(nil)
	return res, nil
}

// TestSolveImageMetadata: the result of an image build carries an image
// config whose times are all the epoch, with one history entry per layer
// naming its package, and the epoch for the exporter (which clamps the
// times it writes itself); per platform when there are several.
func TestSolveImageMetadata(t *testing.T) {
	tree := planTree(t)
	const epoch = 1700000000
	want := time.Unix(epoch, 0).UTC()
	for _, tc := range []struct {
		name      string
		platforms []ocispecs.Platform
		keys      []string // metadata key suffixes: "" or "/<platform>"
	}{
		{"one platform", nil, []string{""}},
		{"two platforms", []ocispecs.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64"}},
			[]string{"/linux/amd64", "/linux/arm64"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := Options{Platforms: tc.platforms}
			o.SourceDateEpoch = epoch
			plan, err := NewPlan(tree, o, target.Target{Kind: target.Image, Name: "base"})
			require.NoError(t, err)
			c := &solveClient{}
			res, err := plan.Solve(context.Background(), c)
			require.NoError(t, err)
			assert.Equal(t, len(tc.keys), c.solves)
			for _, k := range tc.keys {
				assert.Equal(t, "1700000000", string(res.Metadata[commonexptypes.ExporterEpochKey+k]), "epoch%s", k)
				var img ocispecs.Image
				require.NoError(t, json.Unmarshal(res.Metadata[exptypes.ExporterImageConfigKey+k], &img), "config%s", k)
				require.NotNil(t, img.Created)
				assert.Equal(t, want, *img.Created)
				var layers []string
				for _, h := range img.History {
					require.NotNil(t, h.Created)
					assert.Equal(t, want, *h.Created, "history %q", h.CreatedBy)
					assert.Equal(t, HistoryComment, h.Comment)
					assert.False(t, h.EmptyLayer)
					layers = append(layers, h.CreatedBy)
				}
				assert.Equal(t, []string{"package musl 1.0", "package zlib 1.0", "finalize base"}, layers)
			}
		})
	}
}

// TestSolveOtherTargetsHaveNoHistory: a recipe target's layers are not
// described by Hadron (its gate may add one): no history entry, BuildKit
// writes them, clamped by the epoch it is given.
func TestSolveOtherTargetsHaveNoHistory(t *testing.T) {
	tree := planTree(t)
	o := Options{}
	o.SourceDateEpoch = 42
	plan, err := NewPlan(tree, o, target.Target{Kind: target.Recipe, Name: "zlib"})
	require.NoError(t, err)
	res, err := plan.Solve(context.Background(), &solveClient{})
	require.NoError(t, err)
	var img ocispecs.Image
	require.NoError(t, json.Unmarshal(res.Metadata[exptypes.ExporterImageConfigKey], &img))
	assert.Empty(t, img.History)
	assert.Equal(t, "42", string(res.Metadata[commonexptypes.ExporterEpochKey]))
}
