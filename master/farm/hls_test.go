package farm_test

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/farm"
	"github.com/ffrtmp/ffrtmp/master/fault"
	"github.com/ffrtmp/ffrtmp/master/store"
)

// TestRegisterHLSBaseURL: a node's HLS base URL is kept as registered, and one that is not
// an absolute http(s) URL is refused, naming the field.
func TestRegisterHLSBaseURL(t *testing.T) {
	st, err := store.Open(filepath.Join(t.TempDir(), "m.db"), store.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	f, err := farm.New(ctx, st, farm.Config{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	caps := api.Capabilities{Encoders: []string{"libx264"}}
	n, err := f.Register(ctx, api.Registration{ID: "w1", Capabilities: caps, HLSBaseURL: "http://w1:8088/hls/"}, "test", farm.NodeCaller{Key: "test"})
	if err != nil || n.HLSBaseURL != "http://w1:8088/hls/" {
		t.Fatalf("register: %+v, %v; want hls_base_url kept", n, err)
	}
	for _, bad := range []string{"w1:8088/hls/", "ftp://w1/hls/", "http:///hls/", "http://u:p@w1/hls/", "http://w1/hls/?x=1", "javascript:alert(1)"} {
		_, err := f.Register(ctx, api.Registration{ID: "w2", Capabilities: caps, HLSBaseURL: bad}, "test", farm.NodeCaller{Key: "test"})
		var inv *fault.InvalidError
		if !errors.As(err, &inv) || inv.Field != "hls_base_url" {
			t.Errorf("hls_base_url %q: %v, want an invalid-field error naming hls_base_url", bad, err)
		}
	}
}
