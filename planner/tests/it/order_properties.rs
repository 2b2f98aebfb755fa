//! The planner against an exhaustive search over all wave sequences, on
//! random small matrices. The reference model below is written plainly and
//! shares nothing with the planner but the YAML it reads.

use std::collections::{BTreeMap, VecDeque};

use cutover_planner::{Limits, plan, validate_bytes};
use proptest::prelude::*;
use semver::{Version, VersionReq};

/// One release in the reference model.
#[derive(Clone, Debug)]
struct Rel {
    version: Version,
    /// Explicit API `api-{owner}` versions served (empty: not served).
    provides: Vec<Version>,
    /// `(provider index, via the service name?, alternatives)`.
    consumes: Vec<(usize, bool, Vec<VersionReq>)>,
}

#[derive(Clone, Debug)]
struct Svc {
    changing: bool,
    /// `[current, target]`.
    rel: [Rel; 2],
}

fn name(i: usize) -> String {
    format!("svc-{i}")
}

fn api(i: usize) -> String {
    format!("api-{i}")
}

/// Whether release `c` of consumer `ci` can talk to release `p` of provider `pi`.
fn compatible(model: &[Svc], ci: usize, c: usize, pi: usize, p: usize) -> bool {
    let consumer = &model[ci].rel[c];
    let provider = &model[pi].rel[p];
    consumer
        .consumes
        .iter()
        .filter(|(owner, _, _)| *owner == pi)
        .all(|(_, by_name, reqs)| {
            let offered: Vec<&Version> = if *by_name {
                vec![&provider.version]
            } else {
                provider.provides.iter().collect()
            };
            reqs.iter().any(|r| offered.iter().any(|v| r.matches(v)))
        })
}

/// The releases (0 current, 1 target) each service serves.
fn serving(model: &[Svc], switched: u32, wave: u32, changing: &[usize]) -> Vec<Vec<usize>> {
    let mut releases = vec![vec![0]; model.len()];
    for (bit, &s) in changing.iter().enumerate() {
        if wave & (1 << bit) != 0 {
            releases[s] = vec![0, 1];
        } else if switched & (1 << bit) != 0 {
            releases[s] = vec![1];
        }
    }
    releases
}

fn state_is_safe(model: &[Svc], releases: &[Vec<usize>]) -> bool {
    (0..model.len()).all(|ci| {
        (0..model.len()).filter(|pi| *pi != ci).all(|pi| {
            releases[ci].iter().all(|&c| {
                releases[pi]
                    .iter()
                    .all(|&p| compatible(model, ci, c, pi, p))
            })
        })
    })
}

/// The minimum number of waves by breadth-first search over switched sets,
/// or `None` when no sequence of waves is safe.
fn exhaustive_minimum(model: &[Svc]) -> Option<usize> {
    let changing: Vec<usize> = (0..model.len()).filter(|&i| model[i].changing).collect();
    if !state_is_safe(model, &serving(model, 0, 0, &changing)) {
        return None;
    }
    let all = (1u32 << changing.len()) - 1;
    let mut depth = vec![usize::MAX; (all + 1) as usize];
    depth[0] = 0;
    let mut queue = VecDeque::from([0u32]);
    while let Some(switched) = queue.pop_front() {
        if switched == all {
            return Some(depth[all as usize]);
        }
        let remaining = all & !switched;
        let mut wave = remaining;
        while wave != 0 {
            let next = switched | wave;
            if depth[next as usize] == usize::MAX
                && state_is_safe(model, &serving(model, switched, wave, &changing))
            {
                depth[next as usize] = depth[switched as usize] + 1;
                queue.push_back(next);
            }
            wave = (wave - 1) & remaining;
        }
    }
    None
}

/// Checks a plan wave by wave, forwards and (rolled back) backwards.
fn check_plan(model: &[Svc], waves: &[Vec<usize>]) -> Result<(), String> {
    let changing: Vec<usize> = (0..model.len()).filter(|&i| model[i].changing).collect();
    let bit = |s: usize| 1u32 << changing.iter().position(|&c| c == s).expect("changing");
    let mut planned: Vec<usize> = waves.iter().flatten().copied().collect();
    planned.sort_unstable();
    if planned != changing {
        return Err(format!(
            "waves {waves:?} do not partition the changing services {changing:?}"
        ));
    }
    let masks: Vec<u32> = waves
        .iter()
        .map(|w| w.iter().map(|&s| bit(s)).fold(0, |a, b| a | b))
        .collect();
    let mut switched = 0;
    for (i, &wave) in masks.iter().enumerate() {
        if !state_is_safe(model, &serving(model, switched, wave, &changing)) {
            return Err(format!("wave {} is unsafe", i + 1));
        }
        switched |= wave;
    }
    // Roll back in reverse order: each wave serves both releases again while
    // it goes back, the waves before it still serve their target.
    for (i, &wave) in masks.iter().enumerate().rev() {
        let still_on_target: u32 = masks[..i].iter().fold(0, |a, b| a | b);
        let releases = serving(model, still_on_target, wave, &changing);
        if !state_is_safe(model, &releases) {
            return Err(format!("rolling back wave {} is unsafe", i + 1));
        }
    }
    Ok(())
}

fn to_yaml(model: &[Svc]) -> String {
    let versions = |vs: &[Version]| {
        format!(
            "[{}]",
            vs.iter()
                .map(|v| format!("\"{v}\""))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let reqs = |rs: &[VersionReq]| {
        format!(
            "[{}]",
            rs.iter()
                .map(|r| format!("\"{r}\""))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let mut out = String::from("version: 1\nservices:\n");
    for (i, svc) in model.iter().enumerate() {
        out.push_str(&format!(
            "  {}:\n    current: {}\n",
            name(i),
            svc.rel[0].version
        ));
        if svc.changing {
            out.push_str(&format!("    target: {}\n", svc.rel[1].version));
        }
        out.push_str("    releases:\n");
        let releases = if svc.changing {
            &svc.rel[..]
        } else {
            &svc.rel[..1]
        };
        for rel in releases {
            out.push_str(&format!("      {}:\n", rel.version));
            if !rel.provides.is_empty() {
                out.push_str(&format!(
                    "        provides: {{{}: {}}}\n",
                    api(i),
                    versions(&rel.provides)
                ));
            }
            let consumes: Vec<String> = rel
                .consumes
                .iter()
                .map(|(p, by_name, r)| {
                    format!("{}: {}", if *by_name { name(*p) } else { api(*p) }, reqs(r))
                })
                .collect();
            out.push_str(&format!("        consumes: {{{}}}\n", consumes.join(", ")));
        }
    }
    out
}

/// What a target release serves: the old version, the new one, or both.
fn target_versions() -> impl Strategy<Value = Vec<Version>> {
    prop_oneof![
        1 => Just(vec![Version::new(1, 0, 0)]),
        2 => Just(vec![Version::new(2, 0, 0)]),
        3 => Just(vec![Version::new(1, 0, 0), Version::new(2, 0, 0)]),
    ]
}

/// `^1`, `^2` or both; releases running today mostly accept what runs today.
fn requirements(today: bool) -> impl Strategy<Value = Vec<VersionReq>> {
    let req = |r: &str| VersionReq::parse(r).expect("requirement");
    let (old, new, both) = if today { (6, 1, 2) } else { (2, 2, 3) };
    prop_oneof![
        old => Just(vec![req("^1")]),
        new => Just(vec![req("^2")]),
        both => Just(vec![req("^1"), req("^2")]),
    ]
}

/// Random matrices: up to 8 changing services and 2 that stay, each with its
/// own API, consuming a few of the others by API or by service name.
fn model() -> impl Strategy<Value = Vec<Svc>> {
    (1usize..=8, 0usize..=2)
        .prop_flat_map(|(changing, stable)| {
            let n = changing + stable;
            let release = move |version: Version| {
                let today = version.major == 1;
                let provides = if today {
                    Just(vec![Version::new(1, 0, 0)]).boxed()
                } else {
                    target_versions().boxed()
                };
                (
                    provides,
                    prop::collection::vec((0..n, any::<bool>(), requirements(today)), 0..=2),
                )
                    .prop_map(move |(provides, consumes)| Rel {
                        version: version.clone(),
                        provides,
                        consumes: consumes
                            .into_iter()
                            .map(|(p, b, r)| (p, (b, r)))
                            .collect::<BTreeMap<_, _>>()
                            .into_iter()
                            .map(|(p, (b, r))| (p, b, r))
                            .collect(),
                    })
            };
            prop::collection::vec(
                (
                    release(Version::new(1, 0, 0)),
                    release(Version::new(2, 0, 0)),
                ),
                n,
            )
            .prop_map(move |rels| {
                rels.into_iter()
                    .enumerate()
                    .map(|(i, (cur, tgt))| {
                        let fix = |mut rel: Rel| {
                            rel.consumes.retain(|(p, _, _)| *p != i);
                            rel
                        };
                        Svc {
                            changing: i < changing,
                            rel: [fix(cur), fix(tgt)],
                        }
                    })
                    .collect::<Vec<_>>()
            })
        })
        .prop_map(|mut model| {
            // A consumer that names an API nobody provides is a validation error,
            // not an ordering question: consume such providers by service name.
            let provides_api: Vec<bool> = model
                .iter()
                .map(|s| {
                    s.rel[..if s.changing { 2 } else { 1 }]
                        .iter()
                        .any(|r| !r.provides.is_empty())
                })
                .collect();
            for svc in &mut model {
                for rel in &mut svc.rel {
                    for (p, by_name, _) in &mut rel.consumes {
                        if !provides_api[*p] {
                            *by_name = true;
                        }
                    }
                }
            }
            model
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1000, ..ProptestConfig::default() })]

    #[test]
    fn planner_matches_exhaustive_search(model in model()) {
        let yaml = to_yaml(&model);
        let validated = validate_bytes("random.yaml", yaml.as_bytes(), &Limits::default());
        let matrix = validated.matrix.as_ref().expect("the generated matrix parses");
        let structural: Vec<_> = validated
            .diagnostics
            .iter()
            // Warnings (no deploy facts, a requirement no release meets) are no structural problem.
            .filter(|d| d.is_error())
            .filter(|d| !matches!(d.code.as_str(), "incompatible-current-state" | "incompatible-target-state"))
            .collect();
        prop_assert!(structural.is_empty(), "{structural:?}\n{yaml}");
        let expected = exhaustive_minimum(&model);
        match plan(matrix) {
            Ok(plan) => {
                let waves: Vec<Vec<usize>> = plan
                    .waves
                    .iter()
                    .map(|w| w.services.iter().map(|s| s.service.trim_start_matches("svc-").parse().expect("index")).collect())
                    .collect();
                prop_assert_eq!(Some(waves.len()), expected, "wave count differs\n{}", yaml);
                if let Err(problem) = check_plan(&model, &waves) {
                    prop_assert!(false, "{problem}\n{yaml}");
                }
            }
            Err(no) => prop_assert_eq!(expected, None, "planner found no order ({:?})\n{}", no, yaml),
        }
    }
}

/// The checker itself must be able to fail: a plan that switches a consumer
/// before the provider it needs is rejected.
#[test]
fn the_checker_rejects_an_unsafe_order() {
    let v1 = Version::new(1, 0, 0);
    let v2 = Version::new(2, 0, 0);
    let req = |r: &str| vec![VersionReq::parse(r).expect("req")];
    let model = vec![
        Svc {
            changing: true,
            rel: [
                Rel {
                    version: v1.clone(),
                    provides: vec![],
                    consumes: vec![(1, false, req("^1"))],
                },
                Rel {
                    version: v2.clone(),
                    provides: vec![],
                    consumes: vec![(1, false, req("^2"))],
                },
            ],
        },
        Svc {
            changing: true,
            rel: [
                Rel {
                    version: v1.clone(),
                    provides: vec![v1.clone()],
                    consumes: vec![],
                },
                Rel {
                    version: v2.clone(),
                    provides: vec![v1.clone(), v2.clone()],
                    consumes: vec![],
                },
            ],
        },
    ];
    assert!(check_plan(&model, &[vec![0], vec![1]]).is_err());
    assert!(check_plan(&model, &[vec![1], vec![0]]).is_ok());
    assert_eq!(exhaustive_minimum(&model), Some(2));
}
