"""Staff insights (/insights/): what the crowd does on Beebeta, from Beebeta's own data.

counting.py counts question views in memcached and moves them, with the first votes, into the
hourly and daily roll-up tables (the models stay in polls.models); figures.py reads those
tables, accounts, questions and reports into the pages' figures; charts.py lays the figures
out as SVG shapes; views.py and urls.py are the staff-only pages.
"""
