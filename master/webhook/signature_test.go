package webhook

import (
	"errors"
	"testing"
	"time"
)

// The vector was computed with openssl, the way doc/webhooks.md tells a shell receiver to:
//
//	printf '%s' '1767225600.{"event":"job.completed","job":{"id":"j1"}}' | openssl dgst -sha256 -hmac topsecret -r
func TestSignMatchesOpenSSL(t *testing.T) {
	body := []byte(`{"event":"job.completed","job":{"id":"j1"}}`)
	got := Sign([]byte("topsecret"), time.Unix(1767225600, 0), body)
	want := "t=1767225600,v1=348f91e08683c5923fbd9ce4d1477c20241bc87b1be9a3d2f794dc0675c9a919"
	if got != want {
		t.Fatalf("Sign = %s\nwant   %s", got, want)
	}
}

func TestVerify(t *testing.T) {
	secret := []byte("topsecret")
	body := []byte(`{"event":"job.running"}`)
	now := time.Unix(1767225600, 0)
	good := Sign(secret, now, body)
	other := Sign([]byte("another secret"), now, body)

	tests := []struct {
		name   string
		secret []byte
		header string
		body   []byte
		now    time.Time
		want   error // nil: valid
	}{
		{"valid", secret, good, body, now, nil},
		{"valid within tolerance", secret, good, body, now.Add(4 * time.Minute), nil},
		{"spaces after commas", secret, "t=1767225600, v1=" + good[len("t=1767225600,v1="):], body, now, nil},
		{"one of two v1 matches (secret rotation)", secret, other + ",v1=" + good[len("t=1767225600,v1="):], body, now, nil},
		{"unknown keys ignored", secret, good + ",v2=abc", body, now, nil},
		{"body changed", secret, good, []byte(`{"event":"job.completed"}`), now, ErrSignatureMismatch},
		{"body with added whitespace", secret, good, append(body, '\n'), now, ErrSignatureMismatch},
		{"wrong secret", []byte("guess"), good, body, now, ErrSignatureMismatch},
		{"timestamp changed", secret, "t=1767225601,v1=" + good[len("t=1767225600,v1="):], body, now, ErrSignatureMismatch},
		{"too old", secret, good, body, now.Add(6 * time.Minute), ErrTimestampOutOfRange},
		{"from the future", secret, good, body, now.Add(-6 * time.Minute), ErrTimestampOutOfRange},
		{"empty header", secret, "", body, now, ErrNoSignature},
		{"no timestamp", secret, "v1=" + good[len("t=1767225600,v1="):], body, now, ErrMalformedSignature},
		{"no v1", secret, "t=1767225600", body, now, ErrMalformedSignature},
		{"timestamp not a number", secret, "t=yesterday,v1=" + good[len("t=1767225600,v1="):], body, now, ErrMalformedSignature},
		{"v1 not hex", secret, "t=1767225600,v1=zz", body, now, ErrMalformedSignature},
		{"two timestamps", secret, "t=1," + good, body, now, ErrMalformedSignature},
		{"not key=value", secret, "garbage", body, now, ErrMalformedSignature},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(tc.secret, tc.header, tc.body, tc.now, 5*time.Minute)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestVerifyDefaultToleranceAndEmptySecret(t *testing.T) {
	body := []byte(`{}`)
	signed := time.Unix(1767225600, 0)
	h := Sign([]byte("s"), signed, body)
	if err := Verify([]byte("s"), h, body, signed.Add(DefaultTolerance-time.Second), 0); err != nil {
		t.Fatalf("within the default tolerance: %v", err)
	}
	if err := Verify([]byte("s"), h, body, signed.Add(DefaultTolerance+time.Second), 0); !errors.Is(err, ErrTimestampOutOfRange) {
		t.Fatalf("past the default tolerance: %v", err)
	}
	if err := Verify(nil, h, body, signed, 0); err == nil {
		t.Fatal("an empty secret verified a signature")
	}
}
