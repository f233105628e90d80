package webhook

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/ffrtmp/ffrtmp/master/egress"
)

// NotAllowed says where webhooks may go, after the reason a callback URL was refused.
const NotAllowed = "webhooks go to public addresses only, unless an operator allows the range with --webhook-allow-cidr"

// CheckCallback says whether webhooks may be sent to raw, a job's callback_url, before the
// job is accepted: an http or https URL whose host resolves (within p's lookup timeout and
// ctx) to addresses p allows only. The error's text is for the submitter; it is ctx's own
// error when ctx ended first. Delivery checks again, against the address it connects to.
func CheckCallback(ctx context.Context, p egress.Policy, raw string) error {
	u, err := callbackURL(raw)
	if err != nil {
		return err
	}
	if _, err := p.Check(ctx, u.Hostname()); err != nil {
		var refused *egress.RefusedError
		if errors.As(err, &refused) {
			return fmt.Errorf("%w: %s", err, NotAllowed)
		}
		return err
	}
	return nil
}

// callbackURL accepts absolute http and https URLs only: anything else (file:, ftp:, a
// relative path) is a job's mistake that no retry will fix.
func callbackURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, errors.New("the job has no callback URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse's error quotes the URL, and a callback URL may carry a token.
		return nil, errors.New("callback URL does not parse")
	}
	if s := strings.ToLower(u.Scheme); s != "http" && s != "https" {
		return nil, fmt.Errorf("callback URL scheme %q is not delivered: only http and https are", u.Scheme)
	}
	if u.Host == "" {
		return nil, errors.New("callback URL has no host")
	}
	return u, nil
}
