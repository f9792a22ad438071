package kafkatest

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
)

// WaitGroup waits until the consumer group on the broker at addr is
// stable with n members that each hold some partitions, and returns each
// member's partitions (of every topic), sorted. It fails tb with the
// group's last state after timeout.
func WaitGroup(tb testing.TB, addr, group string, n int, timeout time.Duration) [][]int {
	tb.Helper()
	client := &kafka.Client{Addr: kafka.TCP(addr), Timeout: 5 * time.Second}
	deadline := time.Now().Add(timeout)
	var last string
	for {
		members, state, err := describeGroup(client, group)
		switch {
		case err != nil:
			last = err.Error()
		case state == "Stable" && len(members) == n && !slices.ContainsFunc(members, func(ps []int) bool { return len(ps) == 0 }):
			return members
		default:
			last = fmt.Sprintf("state %s, partitions by member %v", state, members)
		}
		if time.Now().After(deadline) {
			tb.Fatalf("kafkatest: consumer group %s not stable with %d members holding partitions after %v: %s", group, n, timeout, last)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// describeGroup returns the group's state and the partitions of each member.
func describeGroup(client *kafka.Client, group string) (members [][]int, state string, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := client.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{group}})
	if err != nil {
		return nil, "", fmt.Errorf("describe group %s: %w", group, err)
	}
	if len(resp.Groups) != 1 {
		return nil, "", fmt.Errorf("describe group %s: %d groups in the answer", group, len(resp.Groups))
	}
	g := resp.Groups[0]
	if g.Error != nil {
		return nil, "", fmt.Errorf("describe group %s: %w", group, g.Error)
	}
	for _, m := range g.Members {
		var ps []int
		for _, t := range m.MemberAssignments.Topics {
			ps = append(ps, t.Partitions...)
		}
		slices.Sort(ps)
		members = append(members, ps)
	}
	return members, g.GroupState, nil
}
