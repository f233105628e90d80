package api

import (
	"github.com/ffrtmp/ffrtmp/api/redact"
	"github.com/ffrtmp/ffrtmp/api/spec"
)

// Redact returns j with its secrets hidden (package redact says which), for every reader
// that is not the worker running it: URLs lose their stream keys, play tokens, userinfo and
// secret query values, engine options their credentials, and free text that may quote them
// (errors, results, restream errors, labels) is redacted too. j itself is not changed.
func (j Job) Redact() Job {
	j.Input = redact.URL(j.Input)
	j.Output = redact.URL(j.Output)
	j.CallbackURL = redact.URL(j.CallbackURL)
	j.Spec.Input.Options = redact.Options(j.Spec.Input.URL, j.Spec.Input.Options)
	j.Spec.Input.URL = redact.URL(j.Spec.Input.URL)
	if len(j.Spec.Outputs) > 0 {
		outs := make([]spec.Output, len(j.Spec.Outputs))
		copy(outs, j.Spec.Outputs)
		for i := range outs {
			outs[i].Options = redact.Options(outs[i].Target, outs[i].Options)
			outs[i].Target = redact.URL(outs[i].Target)
		}
		j.Spec.Outputs = outs
	}
	if len(j.Labels) > 0 {
		labels := make(map[string]string, len(j.Labels))
		for k, v := range j.Labels {
			labels[k] = redact.Text(v)
		}
		j.Labels = labels
	}
	j.Progress = j.Progress.Redact()
	j.Result = j.Result.Redact()
	j.Error = j.Error.Redact()
	return j
}

// Redact returns e with its message, error and progress redacted as Job.Redact does.
func (e Event) Redact() Event {
	e.Message = redact.Text(e.Message)
	e.Error = e.Error.Redact()
	e.Progress = e.Progress.Redact()
	return e
}

// Redact returns a copy of p with its restream errors redacted; nil stays nil.
func (p *Progress) Redact() *Progress {
	if p == nil || len(p.Outputs) == 0 {
		return p
	}
	c := *p
	c.Outputs = redactOutputs(p.Outputs)
	return &c
}

// Redact returns a copy of r with its outputs, details and restream errors redacted; nil
// stays nil.
func (r *Result) Redact() *Result {
	if r == nil {
		return nil
	}
	c := *r
	if len(r.Outputs) > 0 {
		c.Outputs = make([]string, len(r.Outputs))
		for i, o := range r.Outputs {
			c.Outputs[i] = redact.Text(o)
		}
	}
	c.Details = redact.JSON(r.Details)
	c.Restreams = redactOutputs(r.Restreams)
	return &c
}

// Redact returns a copy of e with its message redacted; nil stays nil.
func (e *JobError) Redact() *JobError {
	if e == nil {
		return nil
	}
	c := *e
	c.Message = redact.Text(e.Message)
	return &c
}

// Redact returns s with its restream destinations redacted as a job's outputs are. The
// stream key is not touched: the answers that create or rotate it carry it on purpose.
func (s Stream) Redact() Stream {
	if len(s.Destinations) > 0 {
		d := make([]string, len(s.Destinations))
		for i, u := range s.Destinations {
			d[i] = redact.URL(u)
		}
		s.Destinations = d
	}
	return s
}

func redactOutputs(in []OutputProgress) []OutputProgress {
	if len(in) == 0 {
		return in
	}
	out := make([]OutputProgress, len(in))
	copy(out, in)
	for i := range out {
		out[i].LastError = redact.Text(out[i].LastError)
	}
	return out
}
