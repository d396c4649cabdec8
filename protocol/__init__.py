"""Sans-IO Kafka wire protocol: generated message codec, framing and record batches."""
