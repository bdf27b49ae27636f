"""The privileged expert driver (route tracking, hazards, signals, labels); see `driver.ExpertDriver`."""
