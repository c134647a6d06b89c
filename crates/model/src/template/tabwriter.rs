//! Go's text/tabwriter algorithm with Docker's parameters (minwidth 10, tabwidth 1, padding 3,
//! pad char ' '), and go-runewidth's idea of a character's display width.

use super::{TAB_MINWIDTH, TAB_PADDING};

// ---------------------------------------------------------------------------
// tabwriter (Go's text/tabwriter algorithm, Docker's parameters)

/// Display width of a cell, approximating go-runewidth (used by Docker's
/// tabwriter fork): East Asian wide/fullwidth characters count 2,
/// combining marks and zero-width characters 0.
pub(crate) fn cell_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

pub(crate) fn char_width(c: char) -> usize {
    let u = c as u32;
    let zero = matches!(u,
        0x0300..=0x036F | 0x0483..=0x0489 | 0x0591..=0x05BD | 0x0610..=0x061A
        | 0x064B..=0x065F | 0x200B..=0x200F | 0x202A..=0x202E | 0x2060..=0x2064
        | 0x20D0..=0x20FF | 0xFE00..=0xFE0F | 0xFE20..=0xFE2F | 0xFEFF);
    if zero || u < 0x20 {
        return 0;
    }
    let wide = matches!(u,
        0x1100..=0x115F | 0x231A..=0x231B | 0x2329..=0x232A | 0x23E9..=0x23EC
        | 0x23F0 | 0x23F3 | 0x25FD..=0x25FE | 0x2614..=0x2615 | 0x2648..=0x2653
        | 0x267F | 0x2693 | 0x26A1 | 0x26AA..=0x26AB | 0x26BD..=0x26BE
        | 0x26C4..=0x26C5 | 0x26CE | 0x26D4 | 0x26EA | 0x26F2..=0x26F3 | 0x26F5
        | 0x26FA | 0x26FD | 0x2705 | 0x270A..=0x270B | 0x2728 | 0x274C | 0x274E
        | 0x2753..=0x2755 | 0x2757 | 0x2795..=0x2797 | 0x27B0 | 0x27BF
        | 0x2B1B..=0x2B1C | 0x2B50 | 0x2B55 | 0x2E80..=0x303E | 0x3041..=0x33FF
        | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xA000..=0xA4CF | 0xA960..=0xA97F
        | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE10..=0xFE19 | 0xFE30..=0xFE6F
        | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x1F004 | 0x1F0CF | 0x1F18E
        | 0x1F191..=0x1F19A | 0x1F200..=0x1F251 | 0x1F300..=0x1F64F
        | 0x1F680..=0x1F6FF | 0x1F7E0..=0x1F7EB | 0x1F900..=0x1F9FF
        | 0x1FA70..=0x1FAFF | 0x20000..=0x3FFFD);
    if wide { 2 } else { 1 }
}

pub(crate) struct TabWriter<'a> {
    /// each line's cells; the last cell of a line is not tab-terminated
    lines: Vec<Vec<&'a str>>,
    widths: Vec<usize>,
    out: String,
}

/// Runs `text` through the tabwriter. A trailing partial line (text after
/// the last newline) is written without a newline, as Go does on Flush.
pub(crate) fn tabwrite(text: &str) -> String {
    let lines: Vec<Vec<&str>> = text.split('\n').map(|l| l.split('\t').collect()).collect();
    let n = lines.len();
    let mut tw = TabWriter {
        lines,
        widths: Vec::new(),
        out: String::with_capacity(text.len() * 2),
    };
    tw.format(0, n);
    tw.out
}

impl TabWriter<'_> {
    fn format(&mut self, mut line0: usize, line1: usize) {
        let column = self.widths.len();
        let mut this = line0;
        while this < line1 {
            if column + 1 >= self.lines[this].len() {
                this += 1;
                continue;
            }
            // a column block starts here
            self.write_lines(line0, this);
            line0 = this;
            let mut width = TAB_MINWIDTH;
            while this < line1 {
                let line = &self.lines[this];
                if column + 1 >= line.len() {
                    break;
                }
                width = width.max(cell_width(line[column]) + TAB_PADDING);
                this += 1;
            }
            self.widths.push(width);
            self.format(line0, this);
            self.widths.pop();
            line0 = this;
        }
        self.write_lines(line0, line1);
    }

    fn write_lines(&mut self, line0: usize, line1: usize) {
        let last = self.lines.len() - 1;
        for i in line0..line1 {
            for (j, cell) in self.lines[i].iter().enumerate() {
                self.out.push_str(cell);
                if j < self.widths.len() {
                    let pad = self.widths[j].saturating_sub(cell_width(cell));
                    self.out.extend(std::iter::repeat_n(' ', pad));
                }
            }
            if i != last {
                self.out.push('\n');
            }
        }
    }
}
