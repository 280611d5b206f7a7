package loadtest

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat:
// 100 on every Linux architecture Go supports (the kernel's internal HZ may
// differ; what it exports is scaled to USER_HZ). Reading it would need
// sysconf(_SC_CLK_TCK), that is cgo.
const clockTicks = 100

// procStat holds the fields of /proc/PID/stat the benchmark reads.
type procStat struct {
	// PID and PPID are the process and its parent; Comm is the executable's
	// name as the kernel keeps it (at most 15 bytes).
	PID  int
	PPID int
	Comm string
	// UTime and STime are the CPU time spent in user and kernel mode, in
	// clock ticks, summed over every thread of the process (live and
	// exited).
	UTime uint64
	STime uint64
}

// CPU is UTime+STime as a duration.
func (s procStat) CPU() time.Duration {
	return time.Duration(s.UTime+s.STime) * time.Second / clockTicks
}

// parseProcStat parses the one line of /proc/PID/stat. The command name is
// in parentheses and may itself hold spaces and parentheses, so the fields
// after it are found from the last ')'.
func parseProcStat(b []byte) (procStat, error) {
	var s procStat
	open := bytes.IndexByte(b, '(')
	closing := bytes.LastIndexByte(b, ')')
	if open < 1 || closing < open {
		return s, errors.New("proc stat: no (comm)")
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(b[:open])))
	if err != nil {
		return s, fmt.Errorf("proc stat: pid: %w", err)
	}
	s.PID, s.Comm = pid, string(b[open+1:closing])
	// Fields from 3 on (state, ppid, ...); utime and stime are fields 14
	// and 15, that is rest[11] and rest[12].
	rest := bytes.Fields(b[closing+1:])
	if len(rest) < 13 {
		return s, fmt.Errorf("proc stat: %d fields after comm, want at least 13", len(rest))
	}
	if s.PPID, err = strconv.Atoi(string(rest[1])); err != nil {
		return s, fmt.Errorf("proc stat: ppid: %w", err)
	}
	if s.UTime, err = strconv.ParseUint(string(rest[11]), 10, 64); err != nil {
		return s, fmt.Errorf("proc stat: utime: %w", err)
	}
	if s.STime, err = strconv.ParseUint(string(rest[12]), 10, 64); err != nil {
		return s, fmt.Errorf("proc stat: stime: %w", err)
	}
	return s, nil
}

// readProcStat reads /proc/PID/stat.
func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(b)
}

// childPIDs lists the processes whose parent is pid, from /proc/*/stat.
func childPIDs(pid int) []int {
	paths, _ := filepath.Glob("/proc/[0-9]*/stat")
	var out []int
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // it ended meanwhile
		}
		if s, err := parseProcStat(b); err == nil && s.PPID == pid {
			out = append(out, s.PID)
		}
	}
	return out
}

// procGroup is a measured target's processes: one, or nginx's master and
// its workers.
type procGroup struct {
	pids []int
}

// cpu is the CPU time (user+system) of every process of the group so far.
// A process that has ended makes it fail: its time would be lost.
func (g procGroup) cpu() (time.Duration, error) {
	var sum time.Duration
	for _, pid := range g.pids {
		s, err := readProcStat(pid)
		if err != nil {
			return 0, fmt.Errorf("pid %d: %w", pid, err)
		}
		sum += s.CPU()
	}
	return sum, nil
}

// rss is the resident memory of the group: the sum of each process's
// VmRSS (pages shared between nginx's processes count once per process).
func (g procGroup) rss() (int64, error) {
	var sum int64
	for _, pid := range g.pids {
		_, rss, err := procMemory(pid)
		if err != nil {
			return 0, fmt.Errorf("pid %d: %w", pid, err)
		}
		sum += rss
	}
	return sum, nil
}
