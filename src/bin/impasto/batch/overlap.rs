//! Keeps a batch from writing a file that one of its rows draws: a row
//! would replace its own input, and a row drawing another row's output
//! would get whichever version was there when it ran, so the images would
//! depend on `--jobs` and on timing. The reader checks each row, in row
//! order, before it is queued: of two rows that clash, the later one fails,
//! whatever the order rows finish in. (Rows of other `--shard`s are not
//! seen.)

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use impasto::scene::quoted;

/// The files earlier rows draw and write.
#[derive(Default)]
pub struct Overlap {
    /// Each file an earlier row draws, with the first such row.
    drawn: HashMap<PathBuf, u64>,
    /// Each earlier row's output, with its row.
    written: HashMap<PathBuf, u64>,
}

impl Overlap {
    /// Checks that row `row`, writing `output` and drawing `inputs`
    /// (layer index and canonical path, from `Renderer::image_files`),
    /// clashes with neither itself nor an earlier row; then records both.
    /// A clash is its message and the layer whose `src` it concerns.
    pub fn check(
        &mut self,
        row: u64,
        output: &Path,
        inputs: &[(usize, PathBuf)],
    ) -> Result<(), (String, Option<usize>)> {
        let out = impasto::codec::output_target(output);
        let shown = output.display().to_string();
        let shown = quoted(&shown);
        if let Some((layer, _)) = inputs.iter().find(|(_, f)| *f == out) {
            return Err((format!(
                "output: {shown} is the image that layer {layer} of this row draws; writing it would replace the row's own input"
            ), Some(*layer)));
        }
        // The pattern's own check compares paths as written; this one
        // catches another spelling (`./a`, a link to the folder).
        if let Some(first) = self.written.get(&out) {
            return Err((format!(
                "output: {shown} is also the output of row {first} (spelt another way): two rows may not write the same file"
            ), None));
        }
        if let Some(first) = self.drawn.get(&out) {
            return Err((format!(
                "output: {shown} is an image that row {first} draws; a row may not write another row's input (the images would depend on the order rows finish in)"
            ), None));
        }
        for (layer, file) in inputs {
            if let Some(first) = self.written.get(file) {
                // Shown from the working folder, as outputs are given.
                let cwd = std::env::current_dir().and_then(|d| d.canonicalize());
                let shown = cwd
                    .ok()
                    .and_then(|d| file.strip_prefix(d).ok().map(Path::to_path_buf))
                    .unwrap_or_else(|| file.clone());
                return Err((format!(
                    "layer {layer} draws {}, the output of row {first}; a row may not draw another row's output (the images would depend on the order rows finish in)",
                    quoted(&shown.display().to_string())
                ), Some(*layer)));
            }
        }
        for (_, file) in inputs {
            self.drawn.entry(file.clone()).or_insert(row);
        }
        self.written.insert(out, row);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_may_not_write_its_own_or_an_earlier_rows_input_nor_draw_an_earlier_output() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().canonicalize().unwrap();
        let logo = real.join("logo.png");
        std::fs::write(&logo, b"x").unwrap();
        let mut o = Overlap::default();
        let (err, layer) = o.check(1, &logo, &[(2, logo.clone())]).unwrap_err();
        assert!(err.contains("layer 2 of this row"), "{err}");
        assert_eq!(layer, Some(2));
        o.check(2, &real.join("out/a.png"), &[(0, logo.clone())])
            .unwrap();
        let (err, layer) = o.check(3, &dir.path().join("logo.png"), &[]).unwrap_err();
        assert!(err.contains("row 2 draws"), "{err}");
        assert_eq!(layer, None);
        let (err, layer) = o
            .check(4, &real.join("out/b.png"), &[(1, real.join("out/a.png"))])
            .unwrap_err();
        assert!(
            err.contains("layer 1 draws") && err.contains("output of row 2"),
            "{err}"
        );
        assert_eq!(layer, Some(1));
        o.check(5, &real.join("out/c.png"), &[(0, logo)]).unwrap();
    }
}
