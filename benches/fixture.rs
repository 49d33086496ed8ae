//! A generated fabric of realistic shapes for benchmarks: the documents of the largest real
//! sample (nvidia-air-demo/include.yaml: switches, servers, connections, VPCs, attachments),
//! repeated with fresh names until the wanted count. The first copy keeps the sample's names and
//! later copies refer to its objects, so every reference resolves (the admission webhook of a
//! real fabric, and of testenv, refuses an object whose references are missing); any prefix of
//! the documents is closed under references, as the sample lists what is referred to first.
#![allow(dead_code)]

use std::path::PathBuf;

/// The shared reference data, as testenv finds it; panics loudly when absent.
pub fn shared_dir() -> PathBuf {
    testenv::shared_dir().unwrap_or_else(|error| panic!("benchmarks need the samples: {error}"))
}

/// `documents` YAML documents spread over files of `per_file` documents each.
pub fn generated_fabric(documents: usize, per_file: usize) -> Vec<(String, String)> {
    let sample =
        std::fs::read_to_string(shared_dir().join("hedgehog/samples/nvidia-air-demo/include.yaml"))
            .expect("the sample reads");
    let templates: Vec<&str> = sample
        .split("\n---")
        .map(|d| d.trim_start_matches('\n'))
        .filter(|d| d.contains("kind:"))
        .collect();
    let mut files = Vec::new();
    let mut current = String::new();
    for index in 0..documents {
        let template = templates[index % templates.len()];
        let copy = index / templates.len();
        // Rename the object (metadata.name is the first `  name:` line) so every copy is unique;
        // the first copy keeps the sample's names.
        let mut renamed = String::with_capacity(template.len() + 8);
        let mut done = copy == 0;
        for line in template.lines() {
            if !done && line.starts_with("  name: ") {
                renamed.push_str(&format!("{line}-g{copy}\n"));
                done = true;
            } else {
                renamed.push_str(line);
                renamed.push('\n');
            }
        }
        current.push_str("---\n");
        current.push_str(&renamed);
        if (index + 1) % per_file == 0 || index + 1 == documents {
            files.push((
                format!("fabric/part-{:04}.yaml", files.len()),
                std::mem::take(&mut current),
            ));
        }
    }
    files
}
