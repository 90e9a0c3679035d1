package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sluice-video/sluice/internal/auth"
	"github.com/sluice-video/sluice/internal/resource"
)

// TestOperatorsSilenceAndAcknowledgeAlarms goes through the API of a whole
// server: an operator's login silences an alarm in ALARM and a named
// operator token acknowledges it, a viewer may do neither; the alarm,
// its history, the events and the audit log say who did what, with the
// comments; the alarm's console page offers the actions to the operator
// and shows them; the silence ends by hand once, then is not there to end.
func TestOperatorsSilenceAndAcknowledgeAlarms(t *testing.T) {
	a := newAuthServer(t, false)
	ana, _ := a.login("ana")
	oli, _ := a.login("oli")
	vic, _ := a.login("vic")
	ciToken, _, err := a.s.Auth().AddToken(t.Context(), "ci", auth.RoleOperator)
	if err != nil {
		t.Fatal(err)
	}
	// Without data, a breaching alarm goes to ALARM at its first evaluation.
	if ans := a.do("POST", "/api/v1/alarms", `{"name":"busy","metric":"sluice_encoder_speed_ratio","labels":{"channel":"nowhere"},"statistic":"avg","periodSeconds":10,"evaluationPeriods":1,"threshold":1,"comparison":"LessThanThreshold","treatMissingData":"breaching"}`, ana); ans.status != http.StatusCreated {
		t.Fatalf("creating the alarm: %d %s", ans.status, ans.body)
	}
	a.s.c.alarms.Evaluate(time.Now())

	if ans := a.do("POST", "/api/v1/alarms/busy/silence", `{"durationSeconds":600}`, vic); ans.status != http.StatusForbidden {
		t.Errorf("a viewer silences: %d %s", ans.status, ans.body)
	}
	if ans := a.do("POST", "/api/v1/alarms/busy/acknowledge", `{}`, vic); ans.status != http.StatusForbidden {
		t.Errorf("a viewer acknowledges: %d %s", ans.status, ans.body)
	}
	if ans := a.do("POST", "/api/v1/alarms/busy/silence", `{"durationSeconds":600}`, creds{cookie: oli.cookie}); ans.status != http.StatusForbidden {
		t.Errorf("a silence with the cookie but without the CSRF token: %d %s", ans.status, ans.body)
	}
	if ans := a.do("POST", "/api/v1/alarms/busy/silence", `{"until":"yesterday"}`, oli); ans.status != http.StatusBadRequest || !strings.Contains(ans.body, "RFC 3339") {
		t.Errorf("a silence until no time: %d %s", ans.status, ans.body)
	}
	ans := a.do("POST", "/api/v1/alarms/busy/silence", `{"durationSeconds":600,"comment":"encoder <maintenance>"}`, oli)
	var al resource.Alarm
	if err := json.Unmarshal([]byte(ans.body), &al); err != nil || ans.status != http.StatusOK || al.Silence == nil || al.Silence.By != "oli" ||
		time.Until(al.Silence.Until) < 9*time.Minute || al.State != resource.AlarmAlarm {
		t.Fatalf("the operator silences: %d %s", ans.status, ans.body)
	}
	ans = a.do("POST", "/api/v1/alarms/busy/acknowledge", `{"comment":"paged"}`, creds{bearer: ciToken})
	if err := json.Unmarshal([]byte(ans.body), &al); err != nil || ans.status != http.StatusOK || al.Acknowledgement == nil || al.Acknowledgement.By != "ci" || al.Silence == nil {
		t.Fatalf("the operator token acknowledges: %d %s", ans.status, ans.body)
	}
	if ans := a.do("GET", "/api/v1/alarms/busy", "", vic); !strings.Contains(ans.body, `"by": "oli"`) || !strings.Contains(ans.body, `"by": "ci"`) {
		t.Errorf("the alarm as a viewer reads it: %s", ans.body)
	}

	// The console: the operator is offered the actions, the viewer sees
	// the silence and the acknowledgement only; the comment is escaped.
	ops := a.do("GET", "/console/alarms/busy", "", oli).body
	for _, want := range []string{`data-alarm-form="silence"`, `data-alarm-form="acknowledge"`, `id="unsilence-busy"`, `Silenced until <time datetime="`, "Acknowledged by ci", "encoder &lt;maintenance&gt;"} {
		if !strings.Contains(ops, want) {
			t.Errorf("the operator's alarm page lacks %s", want)
		}
	}
	if list := a.do("GET", "/console/alarms", "", oli).body; !strings.Contains(list, `id="silence-submit-busy"`) || !strings.Contains(list, "Silenced until") {
		t.Errorf("the operator's alarm list lacks the silence form or the silence")
	}
	for _, path := range []string{"/console/alarms/busy", "/console/alarms"} {
		page := a.do("GET", path, "", vic).body
		if strings.Contains(page, "data-alarm-form") || strings.Contains(page, "data-api=") || !strings.Contains(page, "Silenced until") {
			t.Errorf("the viewer's %s offers a change or hides the silence", path)
		}
	}

	if ans := a.do("DELETE", "/api/v1/alarms/busy/silence", "", oli); ans.status != http.StatusOK || strings.Contains(ans.body, `"silence"`) {
		t.Errorf("the operator ends the silence: %d %s", ans.status, ans.body)
	}
	if ans := a.do("DELETE", "/api/v1/alarms/busy/silence", `{"comment":"again"}`, oli); ans.status != http.StatusConflict || !strings.Contains(ans.body, "not silenced") {
		t.Errorf("ending a silence that is not: %d %s", ans.status, ans.body)
	}

	var hist []resource.AlarmChange
	if err := json.Unmarshal([]byte(a.do("GET", "/api/v1/alarms/busy/history", "", vic).body), &hist); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, h := range hist {
		got = append(got, h.Type+" "+h.By+" "+h.Comment)
	}
	want := []string{"UNSILENCED oli ", "ACKNOWLEDGED ci paged", "SILENCED oli encoder <maintenance>", "STATE_CHANGED  "}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("history %q, want %q", got, want)
	}

	var evs struct{ Events []resource.Event }
	if err := json.Unmarshal([]byte(a.do("GET", "/api/v1/events?limit=100", "", vic).body), &evs); err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range evs.Events {
		if strings.HasPrefix(e.Type, "alarm.") {
			types = append(types, e.Type+" "+e.Detail["by"])
		}
	}
	if want := "alarm.state_changed |alarm.silenced oli|alarm.acknowledged ci|alarm.unsilenced oli"; strings.Join(types, "|") != want {
		t.Errorf("events %q, want %s", types, want)
	}

	var page struct{ Entries []auth.AuditEntry }
	if err := json.Unmarshal([]byte(a.do("GET", "/api/v1/audit?kind=alarms", "", ana).body), &page); err != nil {
		t.Fatal(err)
	}
	var audit []string
	for _, e := range page.Entries {
		audit = append(audit, e.Actor+" "+e.Method+" "+e.Route+" "+e.Name+" "+http.StatusText(e.Status))
	}
	wantAudit := []string{
		"oli DELETE /api/v1/alarms/{ref}/silence busy Conflict",
		"oli DELETE /api/v1/alarms/{ref}/silence busy OK",
		"ci POST /api/v1/alarms/{ref}/acknowledge busy OK",
		"oli POST /api/v1/alarms/{ref}/silence busy OK",
		"oli POST /api/v1/alarms/{ref}/silence busy Bad Request",
		"oli POST /api/v1/alarms/{ref}/silence busy Forbidden",
		"vic POST /api/v1/alarms/{ref}/acknowledge busy Forbidden",
		"vic POST /api/v1/alarms/{ref}/silence busy Forbidden",
	}
	if len(audit) != len(wantAudit)+1 || strings.Join(audit[:len(wantAudit)], "\n") != strings.Join(wantAudit, "\n") {
		t.Errorf("audit log of alarms, newest first:\n%s\nwant\n%s", strings.Join(audit, "\n"), strings.Join(wantAudit, "\n"))
	}
}
