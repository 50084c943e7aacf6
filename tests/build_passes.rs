//! Runs the unit tests of build.rs's passes and example collector, which
//! cargo does not run for a build script itself.

#[path = "../build/examples.rs"]
#[allow(dead_code)]
mod examples;
#[path = "../build/passes.rs"]
#[allow(dead_code)]
mod passes;

/// The passes run, in order, over the real documents, and leave each one
/// something progenitor accepts (3.0.x, one error schema per operation).
#[test]
fn passes_normalise_the_vendored_documents() {
    for file in ["magnific.yaml", "anyfast.yaml", "powertokens.yaml"] {
        let text = std::fs::read_to_string(format!("openapi/{file}")).unwrap();
        let mut doc: serde_json::Value = serde_saphyr::from_str(&text).unwrap();
        for pass in passes::PASSES {
            (pass.run)(&mut doc).unwrap_or_else(|e| panic!("{file}: {}: {e}", pass.name));
        }
        assert!(
            doc["openapi"].as_str().unwrap().starts_with("3.0"),
            "{file}"
        );
        passes::for_each_operation(&mut doc.clone(), &mut |id, op| {
            let schemas: std::collections::BTreeSet<String> = op["responses"]
                .as_object()
                .unwrap()
                .iter()
                .filter(|(s, _)| !s.starts_with('2'))
                .filter_map(|(_, r)| {
                    r.pointer("/content/application~1json/schema")
                        .map(|s| s.to_string())
                })
                .collect();
            assert!(schemas.len() <= 1, "{file} {id}: {schemas:?}");
            Ok(())
        })
        .unwrap();
    }
}
