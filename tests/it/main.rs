//! Integration tests against the local servers that `testenv/testenv up` starts: moto for
//! AWS and a real kube-apiserver. Run them with `scripts/test`, which starts one shared
//! environment for the whole run. Tests isolate themselves by unique names and namespaces.

mod classic;
mod common;
mod faults;
mod irsa;
mod lifecycle;
mod repair;
mod safety;
mod scoped;
mod secrets;
mod terminal;
mod testenv;
