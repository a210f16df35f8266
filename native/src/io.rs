//! File helpers.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// A new file next to `path` with an unpredictable name, created exclusively
/// (`O_EXCL`, so a planted file or symlink is never opened or followed).
fn create_temp_beside(dir: &Path, name: &str) -> std::io::Result<(File, PathBuf)> {
    use rand::Rng;
    let mut last = None;
    for _ in 0..16 {
        let tag: u64 = rand::thread_rng().gen();
        // The pid lets the next command remove what a killed process left.
        let tmp = dir.join(format!(".{name}.{}.{tag:016x}.tmp", std::process::id()));
        match OpenOptions::new().write(true).create_new(true).open(&tmp) {
            Ok(f) => return Ok((f, tmp)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no free temporary name")))
}

/// Write a file atomically: into a new temporary file in the same directory
/// (see [`create_temp_beside`]), flush and fsync, then rename over `path`
/// (a rename replaces a symlink at `path`, it never writes through it). On
/// any failure the temporary file is removed and `path` is left untouched.
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>) -> Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let name = path.file_name().ok_or_else(|| Error::Format(format!("{} is not a file path", path.display())))?;
    let (file, tmp) = create_temp_beside(dir, &name.to_string_lossy())
        .map_err(|e| Error::io(format!("cannot write {}", path.display()), e))?;
    let result = (|| -> std::io::Result<()> {
        let mut f = BufWriter::new(file);
        write(&mut f)?;
        f.flush()?;
        f.get_ref().sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(format!("cannot write {}", path.display()), e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_write_leaves_nothing_behind() {
        let dir = std::env::temp_dir().join(format!("zkml-io-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let target = dir.join("key.bin");
        let err = write_atomic(&target, |f| {
            f.write_all(b"half")?;
            Err(std::io::Error::other("disk full"))
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
        write_atomic(&target, |f| f.write_all(b"whole")).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"whole");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_symlink_planted_at_the_old_temporary_name_is_not_followed() {
        let dir = std::env::temp_dir().join(format!("zkml-io-symlink-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let victim = dir.join("victim.txt");
        std::fs::write(&victim, b"precious").unwrap();
        let target = dir.join("out").join("key.bin");
        std::fs::create_dir_all(target.parent().unwrap()).unwrap();
        // The name the writer used to use, and the final name, both planted.
        let old = target.parent().unwrap().join(format!(".key.bin.tmp-{}", std::process::id()));
        std::os::unix::fs::symlink(&victim, &old).unwrap();
        write_atomic(&target, |f| f.write_all(b"key")).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        std::os::unix::fs::symlink(&victim, dir.join("out").join("link.bin")).unwrap();
        write_atomic(&dir.join("out").join("link.bin"), |f| f.write_all(b"key")).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        assert_eq!(std::fs::read(dir.join("out").join("link.bin")).unwrap(), b"key");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
