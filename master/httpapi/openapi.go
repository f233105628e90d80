package httpapi

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3gen"

	"github.com/ffrtmp/ffrtmp/api"
	"github.com/ffrtmp/ffrtmp/api/spec"
	"github.com/ffrtmp/ffrtmp/internal/version"
	"github.com/ffrtmp/ffrtmp/master/auth"
)

var pathParamRe = regexp.MustCompile(`\{([a-z]+)\}`)

// OpenAPI describes the API from its route table, so the description cannot miss a route:
// paths, methods, roles, query and path parameters, and JSON schemas generated from the api
// package's types.
func (s *Server) OpenAPI() (*openapi3.T, error) {
	doc := newDoc()
	g := newSchemas(doc)
	if err := g.addErrorResponse(doc); err != nil {
		return nil, err
	}
	for _, rt := range s.routes {
		op, err := g.operation(rt)
		if err != nil {
			return nil, err
		}
		doc.AddOperation(rt.Path, rt.Method, op)
	}
	if err := addRate(doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// newDoc is the description's frame: info, the API key security scheme, and empty
// components for the schemas and the shared error answer.
func newDoc() *openapi3.T {
	return &openapi3.T{
		OpenAPI: "3.0.3",
		Info: &openapi3.Info{Title: "ffrtmp master API", Version: version.Version,
			Description: "Jobs, presets, live streams, nodes and the worker protocol of an ffrtmp transcoding farm. " +
				"Every route except /healthz and POST /v1/session takes `Authorization: Bearer <api key>`, or the console's session cookie from POST /v1/session " +
				"(then every request but GET, HEAD and OPTIONS carries the session's CSRF token in `X-CSRF-Token`); the x-roles extension lists the key roles a route accepts. " +
				"Errors are {\"error\": {\"code\", \"message\", \"field\"}}."},
		Paths: openapi3.NewPaths(),
		Components: &openapi3.Components{
			Schemas: openapi3.Schemas{},
			SecuritySchemes: openapi3.SecuritySchemes{
				"apiKey": &openapi3.SecuritySchemeRef{Value: openapi3.NewJWTSecurityScheme().WithBearerFormat("API key")},
				"session": &openapi3.SecuritySchemeRef{Value: openapi3.NewSecurityScheme().WithType("apiKey").WithIn("cookie").WithName(api.SessionCookie).
					WithDescription("the console's session (POST /v1/session); state-changing requests also carry X-CSRF-Token")},
			},
			Responses: openapi3.ResponseBodies{},
		},
	}
}

// schemas generates JSON schemas of Go values into a document's components, one component
// per struct type, so routes sharing a type share its schema.
type schemas struct {
	gen  *openapi3gen.Generator
	into openapi3.Schemas
}

func newSchemas(doc *openapi3.T) *schemas {
	return &schemas{
		gen: openapi3gen.NewGenerator(
			openapi3gen.CreateComponentSchemas(openapi3gen.ExportComponentSchemasOptions{ExportComponentSchemas: true, ExportTopLevelSchema: true}),
			openapi3gen.SchemaCustomizer(customSchema),
		),
		into: doc.Components.Schemas,
	}
}

// ref is the schema of v (nil: none).
func (g *schemas) ref(v any) (*openapi3.SchemaRef, error) {
	if v == nil {
		return nil, nil
	}
	return g.gen.NewSchemaRefForValue(v, g.into)
}

// addErrorResponse adds the error answer every operation's default refers to.
func (g *schemas) addErrorResponse(doc *openapi3.T) error {
	ref, err := g.ref(api.ErrorBody{})
	if err != nil {
		return err
	}
	doc.Components.Responses["Error"] = &openapi3.ResponseRef{Value: openapi3.NewResponse().WithDescription("error").WithJSONSchemaRef(ref)}
	return nil
}

// operation describes one route: who may call it, its parameters, its request body and its
// answers.
func (g *schemas) operation(rt Route) (*openapi3.Operation, error) {
	op := openapi3.NewOperation()
	op.OperationID, op.Summary = rt.Name, rt.Summary
	op.Responses = openapi3.NewResponses()
	op.Responses.Delete("default")
	op.Responses.Set("default", &openapi3.ResponseRef{Ref: "#/components/responses/Error"})
	setSecurity(op, rt.Roles)
	addParameters(op, rt)
	if rt.BinaryRequest != "" {
		op.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(true).
			WithContent(openapi3.Content{rt.BinaryRequest: openapi3.NewMediaType().WithSchema(openapi3.NewStringSchema().WithFormat("binary"))})}
	}
	if rt.Request != nil {
		ref, err := g.ref(rt.Request)
		if err != nil {
			return nil, fmt.Errorf("%s request schema: %w", rt.Name, err)
		}
		op.RequestBody = &openapi3.RequestBodyRef{Value: openapi3.NewRequestBody().WithRequired(!rt.OptionalBody).WithJSONSchemaRef(ref)}
	}
	resp, err := g.response(rt)
	if err != nil {
		return nil, err
	}
	op.AddResponse(rt.Status, resp)
	addOtherAnswers(op, rt, resp)
	return op, nil
}

// setSecurity asks for the API key (or the console's session standing for one) and lists the
// roles that may call (x-roles); a route without roles (/healthz, the login) takes no key.
func setSecurity(op *openapi3.Operation, roles []auth.Role) {
	if len(roles) == 0 {
		op.Security = openapi3.NewSecurityRequirements()
		return
	}
	op.Security = openapi3.NewSecurityRequirements().With(openapi3.NewSecurityRequirement().Authenticate("apiKey")).
		With(openapi3.NewSecurityRequirement().Authenticate("session"))
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	op.Extensions = map[string]any{"x-roles": names}
}

// addParameters adds rt's path parameters in path order, then its query parameters and
// request headers, each sorted by name (maps have no order: the description must not
// change from one start to the next).
func addParameters(op *openapi3.Operation, rt Route) {
	for _, m := range pathParamRe.FindAllStringSubmatch(rt.Path, -1) {
		op.AddParameter(openapi3.NewPathParameter(m[1]).WithSchema(openapi3.NewStringSchema()))
	}
	for _, q := range slices.Sorted(maps.Keys(rt.Query)) {
		op.AddParameter(openapi3.NewQueryParameter(q).WithDescription(rt.Query[q]).WithSchema(openapi3.NewStringSchema()))
	}
	for _, h := range slices.Sorted(maps.Keys(rt.Headers)) {
		op.AddParameter(openapi3.NewHeaderParameter(h).WithSchema(openapi3.NewStringSchema()).WithDescription(rt.Headers[h]))
	}
}

// response is rt's success answer: streamed bytes of its Binary content type, or its JSON
// Response body.
func (g *schemas) response(rt Route) (*openapi3.Response, error) {
	resp := openapi3.NewResponse().WithDescription(http.StatusText(rt.Status))
	switch {
	case rt.Binary == "text/event-stream":
		sch := openapi3.NewStringSchema()
		sch.Description = eventStreamDoc
		resp.WithContent(openapi3.Content{rt.Binary: openapi3.NewMediaType().WithSchema(sch)})
	case rt.Binary != "":
		resp.WithContent(openapi3.Content{rt.Binary: openapi3.NewMediaType().WithSchema(openapi3.NewStringSchema().WithFormat("binary"))})
	case rt.Response != nil:
		ref, err := g.ref(rt.Response)
		if err != nil {
			return nil, fmt.Errorf("%s response schema: %w", rt.Name, err)
		}
		resp.WithJSONSchemaRef(ref)
	}
	return resp, nil
}

// addOtherAnswers adds rt's other success answers (Also) by status, carrying the success
// answer's body resp when rt says they have the same.
func addOtherAnswers(op *openapi3.Operation, rt Route, resp *openapi3.Response) {
	for _, status := range slices.Sorted(maps.Keys(rt.Also)) {
		r := openapi3.NewResponse().WithDescription(rt.Also[status])
		if rt.SameBody && resp.Content != nil {
			r.Content = resp.Content
		}
		op.AddResponse(status, r)
	}
}

// addRate adds the schema of spec.Rate when the generator left it out.
func addRate(doc *openapi3.T) error {
	// openapi3gen refers to every struct as a component but exports only those with
	// properties: spec.Rate, a struct that marshals itself, would be a dangling $ref.
	if _, ok := doc.Components.Schemas["Rate"]; ok {
		return nil
	}
	rate := &openapi3.Schema{}
	if err := customSchema("fps", reflect.TypeOf(spec.Rate{}), "", rate); err != nil {
		return err
	}
	doc.Components.Schemas["Rate"] = openapi3.NewSchemaRef("", rate)
	return nil
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
