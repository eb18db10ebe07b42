"""Automotive topcoat line (electrostatic rotary bells): parameters, compiled core, practice."""
