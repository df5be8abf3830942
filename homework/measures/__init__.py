"""Standardised questionnaires (measures): instruments as data, scoring, scheduling.

engine.py     loads and checks instrument files and scores answers (pure, no database)
services.py   writes: schedule a measure for a client, end it, record a response
selectors.py  reads: what is due, responses with their scores, the trend by week
fhir.py       responses as FHIR R4 QuestionnaireResponse resources
charts.py     the trend chart (total by week beside minutes of practice)
"""
