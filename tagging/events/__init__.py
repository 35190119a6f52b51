"""Events found in an article: new industry alliances, targets, the chain-chief system."""
