package httpapi

import (
	"errors"
	"math"
	"net/http"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/master/fault"
)

// apiError is the answer to a refusal of the domain (package fault): the one place its error
// kinds become HTTP statuses and the API's error codes. Anything else is nil.
func apiError(err error) *api.Error {
	var (
		nf    *fault.NotFoundError
		unreg *fault.UnregisteredError
		inv   *fault.InvalidError
		conf  *fault.ConflictError
		forb  *fault.ForbiddenError
		unau  *fault.UnauthenticatedError
		quota *fault.QuotaError
		large *fault.TooLargeError
		unav  *fault.UnavailableError
	)
	switch {
	case errors.As(err, &nf):
		return &api.Error{Status: http.StatusNotFound, Code: api.CodeNotFound, Message: nf.Error()}
	case errors.As(err, &unreg):
		return &api.Error{Status: http.StatusNotFound, Code: api.CodeUnknownNode, Message: unreg.Error()}
	case errors.As(err, &inv):
		return &api.Error{Status: http.StatusBadRequest, Code: api.CodeBadRequest, Field: inv.Field, Message: inv.Msg}
	case errors.As(err, &conf):
		return &api.Error{Status: http.StatusConflict, Code: or(conf.Code, api.CodeConflict), Field: conf.Field, Message: conf.Msg}
	case errors.As(err, &forb):
		return &api.Error{Status: http.StatusForbidden, Code: or(forb.Code, api.CodeForbidden), Field: forb.Field, Message: forb.Msg}
	case errors.As(err, &unau):
		return &api.Error{Status: http.StatusUnauthorized, Code: or(unau.Code, api.CodeUnauthorized), Field: unau.Field, Message: unau.Msg}
	case errors.As(err, &quota):
		e := &api.Error{Status: http.StatusTooManyRequests, Code: api.CodeQuotaExceeded, Field: quota.Quota, Message: quota.Msg}
		if quota.RetryAfter > 0 {
			e.RetryAfter = int(math.Ceil(quota.RetryAfter.Seconds()))
		}
		return e
	case errors.As(err, &unav):
		return &api.Error{Status: http.StatusServiceUnavailable, Code: api.CodeUnavailable, Message: unav.Msg + "; retry", RetryAfter: 1}
	case errors.As(err, &large):
		return &api.Error{Status: http.StatusRequestEntityTooLarge, Code: api.CodeTooLarge, Field: large.Field, Message: large.Msg}
	}
	return nil
}

func or(code, def string) string {
	if code == "" {
		return def
	}
	return code
}
