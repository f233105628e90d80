package auth

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/ffrtmp/ffrtmp/api"
)

// Require returns middleware that lets a request through only with a known key whose role
// is one of roles (admin always passes; no roles means any known key). It answers 401
// (code unauthorized) without a valid key and 403 (code forbidden) for the wrong role, and
// otherwise stores the Principal in the request's context (see FromContext).
func Require(k *Keyring, roles ...Role) func(http.Handler) http.Handler {
	if k == nil {
		panic("auth.Require: nil Keyring")
	}
	for _, r := range roles {
		if !r.Valid() {
			panic(fmt.Sprintf("auth.Require: unknown role %q", r))
		}
	}
	need := describeRoles(roles)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := k.Authenticate(r)
			if err != nil {
				k.denied(api.CodeUnauthorized)
				w.Header().Set("WWW-Authenticate", `Bearer realm="ffrtmp"`)
				writeError(w, http.StatusUnauthorized, api.CodeUnauthorized, err.Error())
				return
			}
			if !p.Allowed(roles...) {
				k.denied(api.CodeForbidden)
				writeError(w, http.StatusForbidden, api.CodeForbidden,
					fmt.Sprintf("API key %q has role %s; this route needs %s", p.Name, p.Role, need))
				return
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
		})
	}
}

// describeRoles says which roles a route accepts: "role worker or admin".
func describeRoles(roles []Role) string {
	names := make([]string, 0, len(roles)+1)
	seen := map[Role]bool{RoleAdmin: true}
	for _, r := range roles {
		if !seen[r] {
			seen[r] = true
			names = append(names, string(r))
		}
	}
	names = append(names, string(RoleAdmin))
	if len(names) == 1 {
		return "role " + names[0]
	}
	return "role " + strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

func (k *Keyring) denied(code string) {
	if k.OnDenied != nil {
		k.OnDenied(code)
	}
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(api.ErrorBody{Error: &api.Error{Code: code, Message: msg}})
}
