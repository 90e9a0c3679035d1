package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"

	spec "github.com/sluice-video/sluice/api"

	"github.com/sluice-video/sluice/internal/config"
	"github.com/sluice-video/sluice/internal/resource"
	"github.com/sluice-video/sluice/internal/stack"
)

func (a *API) version(w http.ResponseWriter, r *http.Request) {
	a.reply(w, r, http.StatusOK, map[string]string{"version": a.cfg.Version})
}

func (a *API) openapi(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(spec.OpenAPI)
}

// openapiJSON serves the description as JSON, converted once by New.
func (a *API) openapiJSON(w http.ResponseWriter, r *http.Request) {
	if a.specJSON == nil {
		a.fail(w, r, a.specErr)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(a.specJSON)
}

// ladderView is a built-in ladder as the API lists it.
type ladderView struct {
	Name  string                      `json:"name"`
	Video []resource.VideoDescription `json:"video"`
}

func (a *API) ladders(w http.ResponseWriter, r *http.Request) {
	out := []ladderView{}
	for _, n := range resource.LadderNames() {
		v, _ := resource.NamedLadder(n)
		out = append(out, ladderView{Name: n, Video: v})
	}
	a.reply(w, r, http.StatusOK, out)
}

func (a *API) rotateKey(w http.ResponseWriter, r *http.Request) {
	in, err := a.m.RotateStreamKey(r.Context(), r.PathValue("ref"))
	answer(a, w, r, http.StatusOK, in, err)
}

func (a *API) startChannel(w http.ResponseWriter, r *http.Request) {
	ch, err := a.m.StartChannel(r.Context(), r.PathValue("ref"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r, http.StatusAccepted, ch)
}

func (a *API) stopChannel(w http.ResponseWriter, r *http.Request) {
	ch, err := a.m.StopChannel(r.Context(), r.PathValue("ref"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r, http.StatusAccepted, ch)
}

// restartChannel stops a running channel and starts it again on the node
// that holds it, as one command.
func (a *API) restartChannel(w http.ResponseWriter, r *http.Request) {
	ch, err := a.m.RestartChannel(r.Context(), r.PathValue("ref"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r, http.StatusAccepted, ch)
}

func (a *API) channelHistory(w http.ResponseWriter, r *http.Request) {
	var errs resource.FieldErrors
	limit := limitOf(r, &errs)
	if errs.Err() != nil {
		a.fail(w, r, errs)
		return
	}
	h, err := a.m.History(r.Context(), r.PathValue("ref"), limit)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r, http.StatusOK, h)
}

// stackBody reads a stack and checks it names the stack of the path.
func stackBody(r *http.Request) (resource.Stack, error) {
	var st resource.Stack
	name := r.PathValue("name")
	if isYAML(r) {
		// A stack file as it is written: YAML (JSON is YAML too), read by
		// the parser of stack files, whose problems name line and column.
		data, err := io.ReadAll(r.Body)
		if err != nil {
			return st, err
		}
		st, err = config.Parse(name+".yaml", data)
		var cerr *config.Error
		if errors.As(err, &cerr) {
			fields := make(resource.FieldErrors, len(cerr.Problems))
			for i, p := range cerr.Problems {
				fields[i] = resource.FieldError{Path: p.Path, Message: fmt.Sprintf("line %d, column %d: %s", p.Line, p.Column, p.Message)}
			}
			return st, fields
		}
		if err != nil {
			return st, err
		}
	} else if err := decode(r, &st); err != nil {
		return st, err
	}
	if st.Name == "" {
		st.Name = name
	}
	if st.Name != name {
		return st, resource.FieldErrors{{Path: "name", Message: "the body names stack " + strconv.Quote(st.Name) + " but the URL names " + strconv.Quote(name)}}
	}
	return st, nil
}

func (a *API) planStack(w http.ResponseWriter, r *http.Request) {
	st, err := stackBody(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	plan, err := stack.MakePlan(r.Context(), a.cfg.Kinds, st)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r, http.StatusOK, plan)
}

func (a *API) applyStack(w http.ResponseWriter, r *http.Request) {
	st, err := stackBody(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	plan, err := stack.Apply(r.Context(), a.cfg.Kinds, st)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r, http.StatusOK, plan)
}

func (a *API) destroyStack(w http.ResponseWriter, r *http.Request) {
	st, err := stackBody(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	plan, err := stack.Destroy(r.Context(), a.cfg.Kinds, st)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.reply(w, r, http.StatusOK, plan)
}
