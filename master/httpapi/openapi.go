package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/engine/spec"
	"github.com/ffrtmp/ffrtmp/internal/version"
)

var pathParamRe = regexp.MustCompile(`\{([a-z]+)\}`)

// OpenAPI describes the API from its route table, so the description cannot miss a route:
// paths, methods, roles, query and path parameters, and JSON schemas generated from the api
// package's types.
func (s *Server) OpenAPI() (*openapi3.T, error) {
	doc := &openapi3.T{
		OpenAPI: "3.0.3",
		Info: &openapi3.Info{Title: "ffrtmp master API", Version: version.Version,
			Description: "Jobs, presets, live streams, nodes and the worker protocol of an ffrtmp transcoding farm. " +
				"Every route except /healthz takes `Authorization: Bearer <api key>`; the x-roles extension lists the key roles a route accepts. " +
				"Errors are {\"error\": {\"code\", \"message\", \"field\"}}."},
		Paths: openapi3.NewPaths(),
		Components: &openapi3.Components{
			Schemas: openapi3.Schemas{},
			SecuritySchemes: openapi3.SecuritySchemes{"apiKey": &openapi3.SecuritySchemeRef{
				Value: openapi3.NewJWTSecurityScheme().WithBearerFormat("API key")}},
			Responses: openapi3.ResponseBodies{},
		},
	}
	gen := openapi3gen.NewGenerator(
		openapi3gen.CreateComponentSchemas(openapi3gen.ExportComponentSchemasOptions{ExportComponentSchemas: true, ExportTopLevelSchema: true}),
		openapi3gen.SchemaCustomizer(customSchema),
	)
	schema := func(v any) (*openapi3.SchemaRef, error) {
		if v == nil {
			return nil, nil
		}
		return gen.NewSchemaRefForValue(v, doc.Components.Schemas)
	}
	errRef, err := schema(api.ErrorBody{})
	if err != nil {
		return nil, err
	}
	errResp := openapi3.NewResponse().WithDescription("error").WithJSONSchemaRef(errRef)
	doc.Components.Responses["Error"] = &openapi3.ResponseRef{Value: errResp}

	for _, rt := range s.routes {
		op := openapi3.NewOperation()
		op.OperationID, op.Summary = rt.Name, rt.Summary
		op.Responses = openapi3.NewResponses()
		op.Responses.Delete("default")
		op.Responses.Set("default", &openapi3.ResponseRef{Ref: "#/components/responses/Error"})
		if len(rt.Roles) > 0 {
			op.Security = openapi3.NewSecurityRequirements().With(openapi3.NewSecurityRequirement().Authenticate("apiKey"))
			roles := make([]string, len(rt.Roles))
			for i, r := range rt.Roles {
				roles[i] = string(r)
			}
			op.Extensions = map[string]any{"x-roles": roles}
		} else {
			op.Security = openapi3.NewSecurityRequirements()
		}
		for _, m := range pathParamRe.FindAllStringSubmatch(rt.Path, -1) {
			op.AddParameter(openapi3.NewPathParameter(m[1]).WithSchema(openapi3.NewStringSchema()))
		}
		names := make([]string, 0, len(rt.Query))
		for q := range rt.Query {
			names = append(names, q)
		}
		sort.Strings(names)
		for _, q := range names {
			p := openapi3.NewQueryParameter(q).WithDescription(rt.Query[q]).WithSchema(openapi3.NewStringSchema())
			op.AddParameter(p)
		}
		headers := make([]string, 0, len(rt.Headers))
		for h := range rt.Headers {
			headers = append(headers, h)
		}
		sort.Strings(headers)
		for _, h := range headers {
			op.AddParameter(openapi3.NewHeaderParameter(h).WithSchema(openapi3.NewStringSchema()).WithDescription(rt.Headers[h]))
		}
		if rt.Request != nil {
			ref, err := schema(rt.Request)
			if err != nil {
				return nil, fmt.Errorf("%s request schema: %w", rt.Name, err)
			}
			op.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(!rt.OptionalBody).WithJSONSchemaRef(ref)}
		}
		resp := openapi3.NewResponse().WithDescription(http.StatusText(rt.Status))
		switch {
		case rt.Binary != "":
			resp.WithContent(openapi3.Content{rt.Binary: openapi3.NewMediaType().WithSchema(openapi3.NewStringSchema().WithFormat("binary"))})
		case rt.Response != nil:
			ref, err := schema(rt.Response)
			if err != nil {
				return nil, fmt.Errorf("%s response schema: %w", rt.Name, err)
			}
			resp.WithJSONSchemaRef(ref)
		}
		op.AddResponse(rt.Status, resp)
		also := make([]int, 0, len(rt.Also))
		for status := range rt.Also {
			also = append(also, status)
		}
		sort.Ints(also)
		for _, status := range also {
			r := openapi3.NewResponse().WithDescription(rt.Also[status])
			if rt.SameBody && resp.Content != nil {
				r.Content = resp.Content
			}
			op.AddResponse(status, r)
		}
		doc.AddOperation(rt.Path, rt.Method, op)
	}
	// openapi3gen refers to every struct as a component but exports only those with
	// properties: spec.Rate, a struct that marshals itself, would be a dangling $ref.
	if _, ok := doc.Components.Schemas["Rate"]; !ok {
		rate := &openapi3.Schema{}
		if err := customSchema("fps", reflect.TypeOf(spec.Rate{}), "", rate); err != nil {
			return nil, err
		}
		doc.Components.Schemas["Rate"] = openapi3.NewSchemaRef("", rate)
	}
	return doc, nil
}

// customSchema describes the types that marshal themselves.
func customSchema(name string, t reflect.Type, tag reflect.StructTag, s *openapi3.Schema) error {
	switch t {
	case reflect.TypeOf(spec.Rate{}):
		*s = *openapi3.NewOneOfSchema(openapi3.NewFloat64Schema(), openapi3.NewStringSchema())
		s.Description = "frame rate: 30, 29.97 or \"30000/1001\""
	case reflect.TypeOf(spec.Bitrate(0)):
		*s = *openapi3.NewOneOfSchema(openapi3.NewInt64Schema(), openapi3.NewStringSchema())
		s.Description = "bits per second: 3000000 or \"3M\", \"800k\""
	case reflect.TypeOf(api.Duration(0)):
		*s = *openapi3.NewOneOfSchema(openapi3.NewFloat64Schema(), openapi3.NewStringSchema())
		s.Description = "seconds, or a Go duration string such as \"90s\" or \"2h\""
	case reflect.TypeOf(json.RawMessage{}):
		*s = openapi3.Schema{Description: "free-form JSON"}
	case reflect.TypeOf(time.Time{}):
		*s = *openapi3.NewDateTimeSchema()
	}
	omitted := strings.Contains(string(tag), "omitempty") || strings.Contains(string(tag), "omitzero")
	switch {
	case omitted:
		s.Nullable = false
	case (t.Kind() == reflect.Slice || t.Kind() == reflect.Map) && t != reflect.TypeOf(json.RawMessage{}):
		// encoding/json writes a nil slice or map as null (a node without encoders, a
		// heartbeat without running jobs).
		s.Nullable = true
	}
	return nil
}

func (s *Server) openapi(w http.ResponseWriter, r *http.Request) {
	s.openapiOnce.Do(func() {
		doc, err := s.OpenAPI()
		if err != nil {
			s.openapiErr = err
			return
		}
		s.openapiJSON, s.openapiErr = json.MarshalIndent(doc, "", "  ")
	})
	if s.openapiErr != nil {
		s.fail(w, r, s.openapiErr)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(s.openapiJSON)
}
