"""What ACE adds to a maximum-entropy learner, shared by every ACE learner (ACE, ACETQC, ACECrossQ)."""
