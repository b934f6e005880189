"""Learning: training sets, training, networks and architectures, inference and its engine, interactions."""
