"""The wire layer: the only code that knows the API's parameter and field names.

``params`` turns checked Python values into query and form parameters;
``converter`` and ``replies`` turn decoded JSON into records and typed errors.
"""
