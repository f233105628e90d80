package master

import (
	"fmt"
	"net/http"

	"github.com/ffrtmp/ffrtmp/master/ui"
)

// withConsole serves the console (package ui) beside the API: "/" and "/ui/…" are its
// files, which every master of a cluster answers itself (they are the same in every
// binary); everything else goes to api.
func withConsole(api http.Handler) (http.Handler, error) {
	console, err := ui.New()
	if err != nil {
		return nil, fmt.Errorf("console assets: %w", err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ui.Serves(r.URL.Path) {
			console.ServeHTTP(w, r)
			return
		}
		api.ServeHTTP(w, r)
	}), nil
}
