package lessons

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// words are the renderer's fixed labels per language.
var words = map[string]map[string]string{
	"en": {
		"lesson": "Lesson", "step": "Step", "change": "Change", "aws": "on AWS", "traffic": "Traffic",
		"works": "WORKS", "fails": "FAILS", "port": "client port", "expected": "expected on AWS",
		"why": "why (vpcemu explain, the rules as applied)", "flow": "Flow-log records of this traffic",
		"checks": "Checks", "pass": "PASS", "fail": "FAIL", "pause": "Idle pause",
		"topology": "Topology", "differs": "This run's settings differ from the lesson's file",
		"summary": "Summary", "took": "took", "result": "Result", "steps": "steps", "verdict": "explain",
		"seen": "seen", "lessonfail": "outcomes differ from AWS's behaviour", "lessonpass": "every outcome matches AWS's behaviour", "error": "ERROR",
	},
	"ko": {
		"lesson": "레슨", "step": "단계", "change": "변경", "aws": "AWS에서는", "traffic": "트래픽",
		"works": "성공", "fails": "실패", "port": "클라이언트 포트", "expected": "AWS에서의 예상",
		"why": "이유 (vpcemu explain, 적용된 규칙 기준)", "flow": "이 트래픽의 흐름 로그 기록",
		"checks": "확인", "pass": "통과", "fail": "불일치", "pause": "유휴 대기",
		"topology": "토폴로지", "differs": "이번 실행의 설정이 레슨 파일과 다릅니다",
		"summary": "요약", "took": "소요", "result": "결과", "steps": "단계", "verdict": "explain",
		"seen": "관찰", "lessonfail": "AWS 동작과 다른 결과가 있습니다", "lessonpass": "모든 결과가 AWS 동작과 일치합니다", "error": "오류",
	},
}

func word(lang, k string) string {
	if w, ok := words[lang][k]; ok {
		return w
	}
	return words["en"][k]
}

// WriteList prints every lesson with its title and steps.
func WriteList(w io.Writer, lang string) error {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	for _, l := range registry {
		fmt.Fprintf(tw, "%s\t%d %s\t%s\n", l.Name, len(l.steps), word(lang, "steps"), l.title.in(lang))
	}
	tw.Flush()
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteHeader prints a lesson's title, intro and topology before its steps.
func WriteHeader(w io.Writer, l *Lesson, r *Result, lang string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s: %s\n%s\n\n", word(lang, "lesson"), l.Name, l.title.in(lang), strings.Repeat("=", 72))
	b.WriteString(wrap(l.intro.in(lang), 78, ""))
	fmt.Fprintf(&b, "\n%s: %s (from %s)\n", word(lang, "topology"), r.Topology, r.File)
	if len(r.Differences) > 0 {
		fmt.Fprintf(&b, "%s:\n", word(lang, "differs"))
		for _, d := range r.Differences {
			fmt.Fprintf(&b, "  ! %s\n", d)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteStep prints one step: changes, traffic, results, flow logs, checks.
func WriteStep(w io.Writer, l *Lesson, s *StepResult, lang string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\n--- %s %d/%d: %s ---\n", word(lang, "step"), s.Number, len(l.steps), s.Title)
	if s.Narration != "" {
		b.WriteString(wrap(s.Narration, 78, ""))
	}
	for _, c := range s.Changes {
		fmt.Fprintf(&b, "\n%s: %s\n", word(lang, "change"), c.What)
		for _, a := range c.AWS {
			fmt.Fprintf(&b, "  %s: %s\n", word(lang, "aws"), a)
		}
	}
	if s.Restart != "" {
		b.WriteString("\n" + wrap("("+s.Restart+")", 78, ""))
	}
	if s.Pause != "" {
		fmt.Fprintf(&b, "\n%s: %s\n", word(lang, "pause"), s.Pause)
	}
	if len(s.Traffic) > 0 {
		fmt.Fprintf(&b, "\n%s:\n", word(lang, "traffic"))
	}
	for _, t := range s.Traffic {
		fmt.Fprintf(&b, "  %s\n", t.What)
		fmt.Fprintf(&b, "    $ %s\n", t.Command)
		res := word(lang, "fails")
		if t.Works {
			res = word(lang, "works")
		}
		port := word(lang, "port") + " ?"
		if t.Port != 0 {
			port = fmt.Sprintf("%s %d", word(lang, "port"), t.Port)
		}
		if t.PortNote != "" && t.PortNote != "unknown" {
			port += " (" + t.PortNote + ")"
		}
		fmt.Fprintf(&b, "    -> %s  %s  %.2fs", res, port, t.Seconds)
		if t.Detail != "" {
			fmt.Fprintf(&b, "  [%s]", t.Detail)
		}
		b.WriteString("\n")
		if c, ok := probeCheck(s, t.What); ok {
			mark := word(lang, "pass")
			if !c.OK {
				mark = word(lang, "fail")
			}
			fmt.Fprintf(&b, "    %s: %s, %s  [%s]\n", word(lang, "expected"), strings.ToUpper(outcomeWord(lang, c.Expected)), c.Why, mark)
		}
		if t.Explain != "" {
			fmt.Fprintf(&b, "    %s:\n", word(lang, "why"))
			b.WriteString(indent(t.Explain, "      "))
		} else if t.Verdict != "" {
			fmt.Fprintf(&b, "    %s: %s\n", word(lang, "verdict"), t.Verdict)
		}
	}
	if len(s.FlowLogs) > 0 || s.FlowNote != "" {
		fmt.Fprintf(&b, "\n%s:\n", word(lang, "flow"))
		for _, r := range s.FlowLogs {
			fmt.Fprintf(&b, "  %s\n", r)
		}
		if s.FlowNote != "" {
			fmt.Fprintf(&b, "  (%s)\n", s.FlowNote)
		}
	}
	fmt.Fprintf(&b, "\n%s:\n", word(lang, "checks"))
	for _, c := range s.Checks {
		mark := word(lang, "pass")
		if !c.OK {
			mark = word(lang, "fail")
		}
		fmt.Fprintf(&b, "  [%s] %s: %s %s, %s %s\n", mark, c.What, word(lang, "expected"), outcomeWord(lang, c.Expected), word(lang, "seen"), outcomeWord(lang, c.Observed))
		if c.Why != "" && !isProbeCheck(s, c) {
			b.WriteString(indent(c.Why, "         "))
		}
		if c.Message != "" {
			b.WriteString(indent(wrap(c.Message, 70, ""), "         "))
		}
	}
	if s.Conclusion != "" {
		b.WriteString("\n")
		b.WriteString(wrap(s.Conclusion, 78, ""))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// probeCheck is the check of the traffic called what.
func probeCheck(s *StepResult, what string) (Check, bool) {
	for _, c := range s.Checks {
		if c.What == what {
			return c, true
		}
	}
	return Check{}, false
}

func isProbeCheck(s *StepResult, c Check) bool {
	for _, t := range s.Traffic {
		if t.What == c.What {
			return true
		}
	}
	return false
}

// WriteFooter prints the lesson's closing text and its result.
func WriteFooter(w io.Writer, r *Result, lang string) error {
	var b strings.Builder
	if r.Outro != "" {
		fmt.Fprintf(&b, "\n%s\n", r.Outro)
	}
	res, what := word(lang, "pass"), word(lang, "lessonpass")
	switch {
	case r.Error != "":
		res, what = word(lang, "error"), r.Error
	case !r.Passed:
		res, what = word(lang, "fail"), word(lang, "lessonfail")
	}
	fmt.Fprintf(&b, "\n%s %s: %s (%s), %s %.1fs\n", word(lang, "lesson"), r.Lesson, res, what, word(lang, "took"), r.Seconds)
	if r.FlowLogDir != "" {
		fmt.Fprintf(&b, "flow logs: %s\n", r.FlowLogDir)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteSummary prints one line per lesson run: result, failed steps, time.
func WriteSummary(w io.Writer, results []*Result, lang string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%s\n", word(lang, "summary"))
	tw := tabwriter.NewWriter(&b, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "LESSON\tRESULT\tSTEPS\tFAILED STEPS\tSECONDS\n")
	for _, r := range results {
		res := word(lang, "pass")
		if r.Error != "" {
			res = word(lang, "error")
		} else if !r.Passed {
			res = word(lang, "fail")
		}
		var failed []string
		for _, s := range r.Steps {
			if !s.Passed {
				failed = append(failed, fmt.Sprint(s.Number))
			}
		}
		f := strings.Join(failed, ",")
		if r.Error != "" {
			f += " error: " + r.Error
		}
		if f == "" {
			f = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%.1f\n", r.Lesson, res, len(r.Steps), f, r.Seconds)
	}
	tw.Flush()
	_, err := io.WriteString(w, b.String())
	return err
}

// indent prefixes every line of s.
func indent(s, prefix string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString(prefix + l + "\n")
	}
	return b.String()
}

// wrap breaks text into lines of at most width characters (runes),
// keeping explicit line breaks.
func wrap(s string, width int, prefix string) string {
	var b strings.Builder
	for _, para := range strings.Split(s, "\n") {
		line := 0
		b.WriteString(prefix)
		for i, word := range strings.Fields(para) {
			n := displayWidth(word)
			if i > 0 && line+1+n > width {
				b.WriteString("\n" + prefix)
				line = 0
			} else if i > 0 {
				b.WriteByte(' ')
				line++
			}
			b.WriteString(word)
			line += n
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// displayWidth counts wide (Hangul, CJK) characters as two columns.
func displayWidth(s string) int {
	n := 0
	for _, r := range s {
		n++
		if r >= 0x1100 {
			n++
		}
	}
	return n
}

// outcomeWord renders "works"/"fails" in lang; other values as they are.
func outcomeWord(lang, s string) string {
	if s == "works" || s == "fails" {
		return strings.ToLower(word(lang, s))
	}
	return s
}
