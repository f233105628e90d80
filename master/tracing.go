package master

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.26.0"

	"github.com/ffrtmp/ffrtmp/internal/version"
)

// setupTracing installs an OTLP/HTTP trace exporter when --tracing-enabled is set and returns
// its shutdown (which flushes pending spans). The endpoint is host:port or a URL.
func setupTracing(ctx context.Context, cfg Config) (func(context.Context) error, error) {
	if !cfg.Tracing {
		return nil, nil
	}
	var opts []otlptracehttp.Option
	switch ep := cfg.TracingEndpoint; {
	case ep == "":
		// The exporter reads OTEL_EXPORTER_OTLP_ENDPOINT, else localhost:4318.
	case strings.HasPrefix(ep, "http://") || strings.HasPrefix(ep, "https://"):
		u, err := url.Parse(ep)
		if err != nil || u.Host == "" {
			return nil, fmt.Errorf("--tracing-endpoint %q: want host:port or an http(s) URL", ep)
		}
		if u.Path == "" || u.Path == "/" {
			u.Path = "/v1/traces" // a collector's base URL: use the standard traces path
		}
		opts = append(opts, otlptracehttp.WithEndpointURL(u.String()))
	default:
		opts = append(opts, otlptracehttp.WithEndpoint(ep), otlptracehttp.WithInsecure())
	}
	exp, err := otlptracehttp.New(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("tracing exporter: %w", err)
	}
	name := cfg.ServiceName
	if name == "" {
		name = "ffrtmp-master"
	}
	res := resource.NewWithAttributes(semconv.SchemaURL, semconv.ServiceName(name), semconv.ServiceVersion(version.Version))
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithResource(res))
	otel.SetTracerProvider(tp)
	otel.SetTextMapPropagator(propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}))
	cfg.Logger.Info("tracing to OTLP/HTTP", "endpoint", cfg.TracingEndpoint, "service", name)
	return tp.Shutdown, nil
}
