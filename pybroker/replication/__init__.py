"""Leader/follower replication: follower tracking, high watermark, ISR changes."""
