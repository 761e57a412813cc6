//! How the binary shows progress and the final summary (plain lines; `-q` shows errors only).

use sfdbtools::dump::BackupReport;
use sfdbtools::progress::{Event, Progress};

pub struct Lines {
    quiet: bool,
}

impl Lines {
    pub fn new(quiet: bool) -> Self {
        Lines { quiet }
    }
}

impl Progress for Lines {
    fn event(&self, event: &Event<'_>) {
        match event {
            Event::Warning(w) => eprintln!("sfdbtools: warning: {w}"),
            _ if self.quiet => {}
            Event::Plan { databases, files } => eprintln!(
                "backing up {} database(s) into {} file(s)",
                databases.len(),
                files.len()
            ),
            Event::TableDone {
                database,
                table,
                rows,
                bytes,
                elapsed,
            } => eprintln!(
                "  {database}.{table}: {rows} rows, {bytes} bytes of SQL in {:.2}s",
                elapsed.as_secs_f64()
            ),
            Event::FileWritten {
                path,
                bytes,
                sql_bytes,
            } => eprintln!(
                "wrote {} ({bytes} bytes, {sql_bytes} bytes of SQL)",
                path.display()
            ),
            Event::TableStarted { .. } => {}
        }
    }
}

pub fn summary(report: &BackupReport, quiet: bool) {
    if quiet {
        return;
    }
    eprintln!("backup complete: {} file(s)", report.files.len());
    for f in &report.files {
        eprintln!(
            "  {}  {}  gtid {}",
            f.path.display(),
            f.metadata.file.size_human,
            f.metadata.replication.gtid_info
        );
        eprintln!("  metadata {}", f.metadata_path.display());
    }
}
