//! Keeping an idle shim small: the start path's code, data and stack pages are given back
//! before the shim settles in for the container's lifetime.

/// Drops the code and read-only data pages the start path faulted in (engine, runtime,
/// SQLite: most of the binary) from this process's memory; the copy loop re-faults the few it
/// uses. Only private, non-writable file mappings that hold no anonymous (written) pages are
/// touched: their contents are exactly the file's, which the kernel re-reads from the page
/// cache. (A RELRO mapping, whose GOT was written by the dynamic loader, is left alone.)
/// Keeps an idle shim's RSS small.
pub(super) fn drop_startup_text() {
    let Ok(smaps) = std::fs::read_to_string("/proc/self/smaps") else {
        return;
    };
    let mut current: Option<(usize, usize)> = None;
    for line in smaps.lines() {
        let mut fields = line.split_whitespace();
        let Some(first) = fields.next() else { continue };
        if let Some((start, end)) = first.split_once('-').filter(|_| !first.ends_with(':')) {
            let perms = fields.next().unwrap_or("");
            let file_backed = line.contains('/');
            let readonly_private =
                perms.starts_with('r') && &perms[1..2] == "-" && perms.ends_with('p');
            current = match (
                usize::from_str_radix(start, 16),
                usize::from_str_radix(end, 16),
            ) {
                (Ok(s), Ok(e)) if file_backed && readonly_private => Some((s, e)),
                _ => None,
            };
            continue;
        }
        if first == "Anonymous:"
            && let Some((start, end)) = current.take()
            && fields.next() == Some("0")
        {
            // SAFETY: MADV_DONTNEED on a private, non-writable file mapping with no
            // anonymous pages only discards page table entries; the same contents are
            // re-read from the file on the next access.
            unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
        }
    }
}

/// Releases the stack pages below the current frame that the start path's deep calls
/// touched. Pages below the stack pointer hold nothing live; a margin covers the red zone and
/// the calls the copy loop makes.
#[inline(never)]
pub(super) fn drop_unused_stack() {
    const MARGIN: usize = 64 * 1024;
    let here = 0u8;
    let sp = std::hint::black_box(&here) as *const u8 as usize;
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return;
    };
    let Some(line) = maps.lines().find(|l| l.ends_with("[stack]")) else {
        return;
    };
    let Some(start) = line
        .split('-')
        .next()
        .and_then(|s| usize::from_str_radix(s, 16).ok())
    else {
        return;
    };
    let page = 4096;
    let end = (sp.saturating_sub(MARGIN)) & !(page - 1);
    if end > start {
        // SAFETY: [start, end) lies below the live part of this thread's stack (the current
        // frame's address minus a 64 KiB margin); discarding it drops only dead data.
        unsafe { libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED) };
    }
}
