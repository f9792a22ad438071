package plugin

import (
	"strings"
	"testing"
)

func TestBuildGraph(t *testing.T) {
	calls := []call{
		{server: "bank", tool: "get_balance", id: "1", client: "agent", answered: true, latencyUS: 2000},
		{server: "web", tool: "get_webpage", id: "2", answered: true, latencyUS: 4000},
		{server: "bank", tool: "send_money", id: "3", failed: true, answered: true, latencyUS: 1000},
		{server: "web", tool: "get_webpage", id: "4", answered: true, latencyUS: 6000},
		{server: "bank", tool: "send_money", id: "5", answered: true},
	}
	nodes, edges := buildGraph(calls, map[string][]string{"3": {"critical exfil"}})
	tests := []struct {
		frame interface{ Rows() int }
		want  int
	}{{nodes, 4}, {edges, 4}}
	for _, tt := range tests {
		if got := tt.frame.Rows(); got != tt.want {
			t.Errorf("rows = %d, want %d", got, tt.want)
		}
	}
	row := func(field string, i int) any {
		f, _ := nodes.FieldByName(field)
		return f.At(i)
	}
	if row("title", 0) != "agent" || row("mainStat", 0) != "5 calls" {
		t.Errorf("client node: %v %v", row("title", 0), row("mainStat", 0))
	}
	if row("id", 3) != "bank/send_money" || row("mainStat", 3) != "2 calls" {
		t.Errorf("node 3: %v %v", row("id", 3), row("mainStat", 3))
	}
	if got := row("arc__failed", 3).(float64); got != 0.5 {
		t.Errorf("send_money failed share %v, want 0.5", got)
	}
	if got := row("secondaryStat", 2).(string); got != "p50 6.0 ms" {
		t.Errorf("get_webpage secondaryStat %q", got)
	}
	if got := row("detail__findings", 3).(string); got != "critical exfil" {
		t.Errorf("findings on send_money %q", got)
	}
	ef, _ := edges.FieldByName("id")
	ms, _ := edges.FieldByName("mainStat")
	var got []string
	for i := range ef.Len() {
		got = append(got, ef.At(i).(string)+" "+ms.At(i).(string))
	}
	want := "client->bank/get_balance ×1|bank/get_balance->web/get_webpage ×1|web/get_webpage->bank/send_money ×2|bank/send_money->web/get_webpage ×1"
	if strings.Join(got, "|") != want {
		t.Errorf("edges\n got %s\nwant %s", strings.Join(got, "|"), want)
	}
}
