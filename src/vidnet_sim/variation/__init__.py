"""What sweeps and analyses vary, shared by both: field paths into a scenario's raw data
(:mod:`~vidnet_sim.variation.paths`), the kinds of quantity a value may be
(:mod:`~vidnet_sim.variation.quantities`) and seeds derived from content
(:mod:`~vidnet_sim.variation.seeds`)."""
