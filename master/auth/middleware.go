package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/ffrtmp/ffrtmp/api"
)

// Require returns middleware that lets a request through only with a known key whose role
// is one of roles (admin always passes; no roles means any known key). The key comes as a
// bearer token or, for the console, as a session cookie (Keyring.Sessions). It answers 401
// (code unauthorized) without a valid key or session, 403 (code csrf_required) for a
// session's request without its CSRF token or from another site, and 403 (code forbidden)
// for the wrong role; otherwise it stores the Principal (and the session, see SessionFrom)
// in the request's context (see FromContext).
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
			p, sess, err := k.authenticate(r)
			if err != nil {
				k.denied(api.CodeUnauthorized)
				var se *SessionError
				if errors.As(err, &se) {
					k.Sessions.ClearCookie(w, r)
				}
				w.Header().Set("WWW-Authenticate", `Bearer realm="ffrtmp"`)
				writeError(w, http.StatusUnauthorized, api.CodeUnauthorized, err.Error())
				return
			}
			ctx := r.Context()
			if sess != nil {
				if err := checkCSRF(r, sess); err != nil {
					k.denied(api.CodeCSRF)
					writeError(w, http.StatusForbidden, api.CodeCSRF, err.Error())
					return
				}
				ctx = context.WithValue(ctx, sessionKey{}, sess)
			}
			if !p.Allowed(roles...) {
				k.denied(api.CodeForbidden)
				writeError(w, http.StatusForbidden, api.CodeForbidden,
					fmt.Sprintf("API key %q has role %s; this route needs %s", p.Name, p.Role, need))
				return
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(ctx, p)))
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
