"""What every portal shares: templates set-up, base layout, errors, forms, static assets."""
