package testutil

// InBatches runs cycle n times, batch at a time concurrently, and returns
// the first error a batch met (the rest of that batch still finishes). It
// is how the join/leave tests churn a room: concurrent enough to race,
// bounded so a loaded machine is not swamped.
func InBatches(n, batch int, cycle func() error) error {
	for range n / batch {
		errs := make(chan error, batch)
		for range batch {
			go func() { errs <- cycle() }()
		}
		var first error
		for range batch {
			if err := <-errs; err != nil && first == nil {
				first = err
			}
		}
		if first != nil {
			return first
		}
	}
	return nil
}
