//! rkube's kubelet, the node agent. For now only its hollow mode (`hollow/`): simulated nodes
//! that register, heartbeat and report pods Running without running containers, like upstream's
//! kubemark hollow nodes. The real kubelet (CRI runtime, volumes, probes) comes later.

pub mod hollow;
